#include "noisetrail/animation.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"

#include <gif_lib.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <array>
#include <cmath>
#include <unistd.h>
#include <unordered_map>

namespace noisetrail {

std::string to_string(AnimationFormat f) { return f == AnimationFormat::Gif ? "gif" : "mp4"; }

std::optional<AnimationFormat> animation_format_of(const std::filesystem::path& path)
{
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".gif")
        return AnimationFormat::Gif;
    if (ext == ".mp4")
        return AnimationFormat::Mp4;
    return std::nullopt;
}

int hold_frames(const AnimationOptions& options)
{
    return static_cast<int>(std::lround(std::max(0.0, options.hold_seconds) * options.fps));
}

namespace {

/// Peak memory of an export per pixel of its frame size, measured with `session export`
/// (ring8 session, 12 frames, 1024x1024 against 2048x2048, December 2026): GIF 12.6 bytes
/// (frames and the colour quantiser's buffers), MP4 178 bytes (libx264 keeps a lookahead
/// of frames in several planes). With a little room above each.
constexpr double kGifBytesPerPixel = 14.0;
constexpr double kMp4BytesPerPixel = 190.0;

void check_options(const std::filesystem::path& path, const AnimationOptions& o, double max_fps,
                   double bytes_per_pixel)
{
    if (o.width <= 0 || o.height <= 0 || o.width > 8192 || o.height > 8192)
        throw InputError(path.string() + ": animation size must be 1..8192 pixels a side, got " +
                         std::to_string(o.width) + "x" + std::to_string(o.height));
    if (!std::isfinite(o.fps) || o.fps < 1 || o.fps > max_fps)
        throw InputError(path.string() + ": frame rate must be 1.." + std::to_string(static_cast<int>(max_fps)) +
                         " fps for " + path.extension().string() + ", got " + std::to_string(o.fps));
    if (!std::isfinite(o.hold_seconds) || o.hold_seconds < 0 || o.hold_seconds > 600)
        throw InputError(path.string() + ": hold on the last frame must be 0..600 s");
    // Frames in flight, the writer's copies and the encoder's own buffers, before any is made.
    check_memory_budget(path.string() + ": an animation of " + std::to_string(o.width) + "x" +
                            std::to_string(o.height) + " pixels",
                        bytes_per_pixel * static_cast<double>(o.width) * o.height);
}

void check_frame(const std::filesystem::path& path, const AnimationOptions& o, const RgbImage& f)
{
    if (f.width != o.width || f.height != o.height || f.rgb.size() != static_cast<std::size_t>(f.width) * f.height * 3)
        throw std::invalid_argument(path.string() + ": frame of " + std::to_string(f.width) + "x" +
                                    std::to_string(f.height) + ", the animation is " + std::to_string(o.width) +
                                    "x" + std::to_string(o.height));
}

// ---------------------------------------------------------------------------------------------
// GIF: each frame is written as the rectangle that changed since the previous one (the rest
// stays, disposal "do not dispose"), with its own 256-colour table: exact when the rectangle has
// at most 256 colours (captions, scatter plots), giflib's median cut otherwise (noisy images).
// The last frame is held by a longer delay. Delays are centiseconds, accumulated so the mean
// frame rate is exact.

class GifWriter final : public AnimationWriter {
public:
    GifWriter(const std::filesystem::path& path, const AnimationOptions& o) : path_(path), o_(o), file_(path)
    {
        check_options(path, o, 50, kGifBytesPerPixel);
        int err = 0;
        const int fd = file_.release_fd();
        gif_.reset(EGifOpenFileHandle(fd, &err));
        if (!gif_) {
            ::close(fd);
            fail(err);
        }
        EGifSetGifVersion(gif_.get(), true);
        if (EGifPutScreenDesc(gif_.get(), o.width, o.height, 8, 0, nullptr) == GIF_ERROR)
            fail(gif_->Error);
        // NETSCAPE2.0 application extension: loop forever.
        static const char app[] = "NETSCAPE2.0";
        static const unsigned char loop[3] = {1, 0, 0};
        if (EGifPutExtensionLeader(gif_.get(), APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
            EGifPutExtensionBlock(gif_.get(), 11, app) == GIF_ERROR || EGifPutExtensionBlock(gif_.get(), 3, loop) == GIF_ERROR ||
            EGifPutExtensionTrailer(gif_.get()) == GIF_ERROR)
            fail(gif_->Error);
    }

    void add_frame(const RgbImage& frame) override
    {
        check_frame(path_, o_, frame);
        if (pending_)
            write(*pending_, delay_of(added_ - 1));
        pending_ = frame;
        ++added_;
    }

    void finish() override
    {
        if (!pending_)
            throw InputError(path_.string() + ": no frames to write");
        const int hold = static_cast<int>(std::lround(o_.hold_seconds * 100));
        write(*pending_, std::min(65535, delay_of(added_ - 1) + hold));
        pending_.reset();
        int err = 0;
        const int rc = EGifCloseFile(gif_.release(), &err);
        if (rc == GIF_ERROR)
            fail(err);
        file_.commit();
    }

    int frames_written() const override { return added_; }
    std::string encoder() const override { return "giflib " + std::to_string(GIFLIB_MAJOR) + "." +
                                                  std::to_string(GIFLIB_MINOR) + "." + std::to_string(GIFLIB_RELEASE); }

private:
    [[noreturn]] void fail(int err)
    {
        const char* msg = GifErrorString(err);
        throw InputError(path_.string() + ": cannot write GIF (" + (msg ? msg : "error") + ")");
    }

    int delay_of(int i) const
    {
        return static_cast<int>(std::lround(100.0 * (i + 1) / o_.fps) - std::lround(100.0 * i / o_.fps));
    }

    void write(const RgbImage& f, int delay_cs)
    {
        // The changed rectangle (the whole frame the first time; one pixel if nothing changed).
        int x0 = 0, y0 = 0, x1 = f.width - 1, y1 = f.height - 1;
        if (!canvas_.rgb.empty()) {
            x0 = f.width, y0 = f.height, x1 = -1, y1 = -1;
            for (int y = 0; y < f.height; ++y)
                for (int x = 0; x < f.width; ++x)
                    if (!std::equal(f.pixel(x, y), f.pixel(x, y) + 3, canvas_.pixel(x, y))) {
                        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
                    }
            if (x1 < 0)
                x0 = x1 = y0 = y1 = 0;
        }
        const int w = x1 - x0 + 1, h = y1 - y0 + 1;
        std::vector<GifByteType> r(static_cast<std::size_t>(w) * h), g(r.size()), b(r.size()), index(r.size());
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const auto* p = f.pixel(x0 + x, y0 + y);
                const std::size_t i = static_cast<std::size_t>(y) * w + x;
                r[i] = p[0], g[i] = p[1], b[i] = p[2];
            }
        std::array<GifColorType, 256> colors{};
        if (!exact_palette(r, g, b, colors, index)) {
            int count = 256;
            if (GifQuantizeBuffer(w, h, &count, r.data(), g.data(), b.data(), index.data(), colors.data()) ==
                GIF_ERROR)
                throw InputError(path_.string() + ": GIF colour quantisation failed");
        }
        ColorMapObject* map = GifMakeMapObject(256, colors.data());
        if (!map)
            throw std::bad_alloc();
        GraphicsControlBlock gcb{};
        gcb.DisposalMode = DISPOSE_DO_NOT;
        gcb.DelayTime = delay_cs;
        gcb.TransparentColor = NO_TRANSPARENT_COLOR;
        GifByteType ext[4];
        const std::size_t n = EGifGCBToExtension(&gcb, ext);
        bool ok = EGifPutExtension(gif_.get(), GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext) != GIF_ERROR &&
                  EGifPutImageDesc(gif_.get(), x0, y0, w, h, false, map) != GIF_ERROR;
        GifFreeMapObject(map);
        for (int y = 0; ok && y < h; ++y)
            ok = EGifPutLine(gif_.get(), index.data() + static_cast<std::size_t>(y) * w, w) != GIF_ERROR;
        if (!ok)
            fail(gif_->Error);
        // What a decoder now shows: the quantised colours inside the rectangle.
        if (canvas_.rgb.empty())
            canvas_ = RgbImage(f.width, f.height, 0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const auto& c = colors[index[static_cast<std::size_t>(y) * w + x]];
                auto* p = canvas_.pixel(x0 + x, y0 + y);
                p[0] = c.Red, p[1] = c.Green, p[2] = c.Blue;
            }
    }

    static bool exact_palette(const std::vector<GifByteType>& r, const std::vector<GifByteType>& g,
                              const std::vector<GifByteType>& b, std::array<GifColorType, 256>& colors,
                              std::vector<GifByteType>& index)
    {
        std::unordered_map<std::uint32_t, GifByteType> seen;
        for (std::size_t i = 0; i < r.size(); ++i) {
            const std::uint32_t key = (std::uint32_t(r[i]) << 16) | (std::uint32_t(g[i]) << 8) | b[i];
            auto it = seen.find(key);
            if (it == seen.end()) {
                if (seen.size() == 256)
                    return false;
                const auto k = static_cast<GifByteType>(seen.size());
                colors[k] = {r[i], g[i], b[i]};
                it = seen.emplace(key, k).first;
            }
            index[i] = it->second;
        }
        return true;
    }

    std::filesystem::path path_;
    AnimationOptions o_;
    AtomicFile file_;
    struct GifCloser {
        void operator()(GifFileType* g) const
        {
            int err = 0;
            EGifCloseFile(g, &err);
        }
    };
    std::unique_ptr<GifFileType, GifCloser> gif_; // closed before file_ removes an abandoned temporary file
    std::optional<RgbImage> pending_;
    RgbImage canvas_;
    int added_ = 0;
};

// ---------------------------------------------------------------------------------------------
// MP4: H.264 (libx264 through libavcodec) in yuv420p, which needs even sizes: odd frames are
// padded by repeating their last column/row. Constant frame rate; the hold repeats the last frame.

std::string av_error(int err)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

class Mp4Writer final : public AnimationWriter {
public:
    Mp4Writer(const std::filesystem::path& path, const AnimationOptions& o) : path_(path), o_(o), file_(path)
    {
        check_options(path, o, 120, kMp4BytesPerPixel);
        av_log_set_level(AV_LOG_ERROR); // x264 and the muxer chat on stderr otherwise
        ::close(file_.release_fd()); // libavformat opens the temporary file itself
        width_ = o.width + (o.width & 1);
        height_ = o.height + (o.height & 1);
        const std::string tmp = file_.temp_path().string();
        check(avformat_alloc_output_context2(&fmt_, nullptr, "mp4", tmp.c_str()), "no MP4 muxer");
        const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
        if (!codec)
            codec = avcodec_find_encoder(AV_CODEC_ID_H264);
        if (!codec)
            throw InputError(path.string() + ": this FFmpeg build has no H.264 encoder (install libx264 support)");
        stream_ = avformat_new_stream(fmt_, nullptr);
        ctx_ = avcodec_alloc_context3(codec);
        if (!stream_ || !ctx_)
            throw std::bad_alloc();
        const AVRational rate = av_d2q(o.fps, 100000);
        ctx_->width = width_;
        ctx_->height = height_;
        ctx_->time_base = av_inv_q(rate);
        ctx_->framerate = rate;
        ctx_->pix_fmt = AV_PIX_FMT_YUV420P;
        ctx_->gop_size = std::max(1, static_cast<int>(std::lround(2 * o.fps))); // a key frame every 2 s for seeking
        // swscale's RGB -> YUV is BT.601, limited range: say so, so players convert back alike.
        ctx_->color_range = AVCOL_RANGE_MPEG;
        ctx_->colorspace = AVCOL_SPC_SMPTE170M;
        ctx_->color_primaries = AVCOL_PRI_SMPTE170M;
        ctx_->color_trc = AVCOL_TRC_SMPTE170M;
        if (fmt_->oformat->flags & AVFMT_GLOBALHEADER)
            ctx_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        av_opt_set(ctx_->priv_data, "preset", "medium", 0);
        av_opt_set(ctx_->priv_data, "crf", "18", 0); // sharp edges of pixel grids and captions
        check(avcodec_open2(ctx_, codec, nullptr), "cannot open the H.264 encoder");
        encoder_ = codec->name;
        check(avcodec_parameters_from_context(stream_->codecpar, ctx_), "encoder parameters");
        stream_->time_base = ctx_->time_base;
        check(avio_open(&fmt_->pb, tmp.c_str(), AVIO_FLAG_WRITE), "cannot write file");
        AVDictionary* opts = nullptr;
        av_dict_set(&opts, "movflags", "+faststart", 0); // the index first, so a browser plays while loading
        const int rc = avformat_write_header(fmt_, &opts);
        av_dict_free(&opts);
        check(rc, "cannot write file");
        frame_ = av_frame_alloc();
        packet_ = av_packet_alloc();
        if (!frame_ || !packet_)
            throw std::bad_alloc();
        frame_->format = ctx_->pix_fmt;
        frame_->width = width_;
        frame_->height = height_;
        check(av_frame_get_buffer(frame_, 0), "frame buffer");
        sws_ = sws_getContext(width_, height_, AV_PIX_FMT_RGB24, width_, height_, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                              nullptr, nullptr, nullptr);
        if (!sws_)
            throw InputError(path.string() + ": no RGB to YUV conversion in this FFmpeg build");
        padded_.resize(static_cast<std::size_t>(width_) * height_ * 3 + 64); // swscale may read a little past the end
    }


    void add_frame(const RgbImage& f) override
    {
        check_frame(path_, o_, f);
        for (int y = 0; y < height_; ++y)
            for (int x = 0; x < width_; ++x)
                std::copy_n(f.pixel(std::min(x, f.width - 1), std::min(y, f.height - 1)), 3,
                            &padded_[(static_cast<std::size_t>(y) * width_ + x) * 3]);
        encode_padded();
        have_frame_ = true;
    }

    void finish() override
    {
        if (!have_frame_)
            throw InputError(path_.string() + ": no frames to write");
        for (int i = 0, n = hold_frames(o_); i < n; ++i)
            encode_padded();
        send(nullptr);
        check(av_write_trailer(fmt_), "cannot write file");
        check(avio_closep(&fmt_->pb), "cannot write file");
        file_.commit();
    }

    int frames_written() const override { return static_cast<int>(next_pts_); }
    std::string encoder() const override { return encoder_; }

private:
    void check(int rc, const char* what)
    {
        if (rc < 0)
            throw InputError(path_.string() + ": " + what + " (" + av_error(rc) + ")");
    }

    void encode_padded()
    {
        check(av_frame_make_writable(frame_), "frame buffer");
        const std::uint8_t* src[1] = {padded_.data()};
        const int stride[1] = {width_ * 3};
        sws_scale(sws_, src, stride, 0, height_, frame_->data, frame_->linesize);
        frame_->pts = next_pts_++;
        send(frame_);
    }

    void send(AVFrame* frame)
    {
        check(avcodec_send_frame(ctx_, frame), "encoding failed");
        for (;;) {
            const int rc = avcodec_receive_packet(ctx_, packet_);
            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
                return;
            check(rc, "encoding failed");
            // Constant frame rate: every frame lasts one tick. Without a duration the muxer's edit
            // list ends at the last frame's start, and players drop that frame.
            packet_->duration = 1;
            av_packet_rescale_ts(packet_, ctx_->time_base, stream_->time_base);
            packet_->stream_index = stream_->index;
            check(av_interleaved_write_frame(fmt_, packet_), "cannot write file");
        }
    }

    std::filesystem::path path_;
    AnimationOptions o_;
    AtomicFile file_;
    int width_ = 0, height_ = 0;
    // FFmpeg's objects, freed (the file closed) before file_ removes an abandoned temporary file,
    // also when the constructor throws halfway.
    struct Av {
        AVFormatContext* fmt = nullptr;
        AVCodecContext* ctx = nullptr;
        AVFrame* frame = nullptr;
        AVPacket* packet = nullptr;
        SwsContext* sws = nullptr;
        ~Av()
        {
            sws_freeContext(sws);
            av_frame_free(&frame);
            av_packet_free(&packet);
            avcodec_free_context(&ctx);
            if (fmt) {
                if (fmt->pb)
                    avio_closep(&fmt->pb);
                avformat_free_context(fmt);
            }
        }
    } av_;
    AVFormatContext*& fmt_ = av_.fmt;
    AVCodecContext*& ctx_ = av_.ctx;
    AVFrame*& frame_ = av_.frame;
    AVPacket*& packet_ = av_.packet;
    SwsContext*& sws_ = av_.sws;
    AVStream* stream_ = nullptr;
    std::vector<std::uint8_t> padded_;
    std::int64_t next_pts_ = 0;
    bool have_frame_ = false;
    std::string encoder_;
};

} // namespace

AnimationResult export_animation(const std::vector<RenderPanel>& panels, const std::filesystem::path& path,
                                 AnimationFormat format, const AnimationExport& options,
                                 const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel)
{
    const FrameRenderer renderer(panels, options.render);
    std::vector<int> levels = renderer.levels();
    if (options.max_frames > 0)
        levels = filmstrip_levels(levels, options.max_frames);
    auto writer = AnimationWriter::open(path, format, {renderer.width(), renderer.height(), options.fps,
                                                       options.hold_seconds});
    AnimationResult result{false, 0, renderer.width(), renderer.height(), writer->encoder()};
    const int total = int(levels.size());
    for (int i = 0; i < total; ++i) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
            result.cancelled = true;
            return result; // the writer's destructor removes its temporary file
        }
        writer->add_frame(renderer.render(levels[std::size_t(i)]));
        if (progress)
            progress(i + 1, total);
    }
    writer->finish();
    result.frames = writer->frames_written();
    return result;
}

std::unique_ptr<AnimationWriter> AnimationWriter::open(const std::filesystem::path& path, AnimationFormat format,
                                                       const AnimationOptions& options)
{
    if (format == AnimationFormat::Gif)
        return std::make_unique<GifWriter>(path, options);
    return std::make_unique<Mp4Writer>(path, options);
}

} // namespace noisetrail
