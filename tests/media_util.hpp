// Independent readers for exported media, shared by tests: giflib's decoder
// (frames, size, delays, the final canvas) and a libavformat probe (container,
// stream, codec, size, frame count).
#pragma once
#include "noisetrail/image_io.hpp"

#include <gif_lib.h>
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <QtGlobal>

#include <cstdint>
#include <filesystem>
#include <string>

namespace noisetrail::test {

struct Decoded {
    int width = 0, height = 0, frames = 0, total_delay_cs = 0;
    bool loops = false;
    RgbImage last; ///< the canvas after the last frame
};

inline Decoded decode_gif(const std::filesystem::path& p)
{
    int err = 0;
    GifFileType* gif = DGifOpenFileName(p.c_str(), &err);
    if (!gif || DGifSlurp(gif) == GIF_ERROR)
        qFatal("giflib cannot read %s", p.c_str());
    Decoded d{gif->SWidth, gif->SHeight, gif->ImageCount, 0, false, RgbImage(gif->SWidth, gif->SHeight, 0)};
    for (int i = 0; i < gif->ImageCount; ++i) {
        const SavedImage& im = gif->SavedImages[i];
        GraphicsControlBlock gcb;
        if (DGifSavedExtensionToGCB(gif, i, &gcb) == GIF_OK)
            d.total_delay_cs += gcb.DelayTime;
        for (int e = 0; e < im.ExtensionBlockCount; ++e)
            if (im.ExtensionBlocks[e].Function == APPLICATION_EXT_FUNC_CODE &&
                std::string(reinterpret_cast<char*>(im.ExtensionBlocks[e].Bytes), 11) == "NETSCAPE2.0")
                d.loops = true;
        const ColorMapObject* map = im.ImageDesc.ColorMap ? im.ImageDesc.ColorMap : gif->SColorMap;
        for (int y = 0; y < im.ImageDesc.Height; ++y)
            for (int x = 0; x < im.ImageDesc.Width; ++x) {
                const GifColorType c = map->Colors[im.RasterBits[y * im.ImageDesc.Width + x]];
                auto* px = d.last.pixel(im.ImageDesc.Left + x, im.ImageDesc.Top + y);
                px[0] = c.Red, px[1] = c.Green, px[2] = c.Blue;
            }
    }
    DGifCloseFile(gif, &err);
    return d;
}

struct Probe {
    std::string format;
    AVCodecID codec = AV_CODEC_ID_NONE;
    int width = 0, height = 0, streams = 0;
    std::int64_t frames = 0;
    double fps = 0;
};

inline Probe probe(const std::filesystem::path& p)
{
    AVFormatContext* ctx = nullptr;
    if (avformat_open_input(&ctx, p.c_str(), nullptr, nullptr) < 0 || avformat_find_stream_info(ctx, nullptr) < 0)
        qFatal("libavformat cannot read %s", p.c_str());
    Probe r;
    r.format = ctx->iformat->name;
    r.streams = static_cast<int>(ctx->nb_streams);
    const AVStream* s = ctx->streams[0];
    r.codec = s->codecpar->codec_id;
    r.width = s->codecpar->width;
    r.height = s->codecpar->height;
    r.frames = s->nb_frames;
    r.fps = av_q2d(s->r_frame_rate);
    avformat_close_input(&ctx);
    return r;
}

/// Frames a decoder shows (libavcodec, the container's edit list applied), -1 if unreadable.
inline int decoded_frames(const std::filesystem::path& p)
{
    AVFormatContext* fmt = nullptr;
    if (avformat_open_input(&fmt, p.c_str(), nullptr, nullptr) < 0)
        return -1;
    avformat_find_stream_info(fmt, nullptr);
    const AVStream* st = fmt->streams[0];
    const AVCodec* dec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext* ctx = avcodec_alloc_context3(dec);
    avcodec_parameters_to_context(ctx, st->codecpar);
    int n = -1;
    if (avcodec_open2(ctx, dec, nullptr) == 0) {
        n = 0;
        AVPacket* pkt = av_packet_alloc();
        AVFrame* frame = av_frame_alloc();
        const auto drain = [&] {
            while (avcodec_receive_frame(ctx, frame) == 0)
                ++n;
        };
        while (av_read_frame(fmt, pkt) >= 0) {
            if (pkt->stream_index == st->index)
                avcodec_send_packet(ctx, pkt);
            av_packet_unref(pkt);
            drain();
        }
        avcodec_send_packet(ctx, nullptr);
        drain();
        av_frame_free(&frame);
        av_packet_free(&pkt);
    }
    avcodec_free_context(&ctx);
    avformat_close_input(&fmt);
    return n;
}

} // namespace noisetrail::test
