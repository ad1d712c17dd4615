#include "noisetrail/fingerprint.hpp"

#include "noisetrail/errors.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <fstream>
#include <vector>

namespace noisetrail {

namespace {

constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

} // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
{
}

void Sha256::block(const std::uint8_t* p)
{
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
        w[i] = std::uint32_t(p[4 * i]) << 24 | std::uint32_t(p[4 * i + 1]) << 16 | std::uint32_t(p[4 * i + 2]) << 8 |
               std::uint32_t(p[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
        const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
        const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + w[i];
        const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
    h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
}

void Sha256::update(std::span<const std::uint8_t> bytes)
{
    length_ += bytes.size();
    std::size_t i = 0;
    if (fill_) {
        const std::size_t take = std::min(bytes.size(), 64 - fill_);
        std::memcpy(buf_ + fill_, bytes.data(), take);
        fill_ += take;
        i = take;
        if (fill_ < 64)
            return;
        block(buf_);
        fill_ = 0;
    }
    for (; i + 64 <= bytes.size(); i += 64)
        block(bytes.data() + i);
    std::memcpy(buf_, bytes.data() + i, bytes.size() - i);
    fill_ = bytes.size() - i;
}

void Sha256::update(const std::string& text)
{
    update(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void Sha256::update_file(const std::filesystem::path& file)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) // a device (/dev/zero) or FIFO would never end
        throw InputError(file.string() + ": not a regular file");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw InputError(file.string() + ": cannot read file");
    std::vector<std::uint8_t> chunk(1 << 16);
    while (in) {
        in.read(reinterpret_cast<char*>(chunk.data()), std::streamsize(chunk.size()));
        update(std::span(chunk.data(), std::size_t(in.gcount())));
    }
    if (in.bad())
        throw InputError(file.string() + ": read error");
}

std::string Sha256::hex()
{
    // Padding: 0x80, zeros to 56 mod 64, then the bit length big-endian (FIPS 180-4 sec. 5.1.1).
    const std::uint64_t bits = length_ * 8;
    const std::uint8_t one = 0x80, zero = 0;
    update(std::span(&one, 1));
    while (fill_ != 56)
        update(std::span(&zero, 1));
    std::uint8_t len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = std::uint8_t(bits >> (56 - 8 * i));
    update(std::span(len, 8));
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::uint32_t v : h_)
        for (int s = 28; s >= 0; s -= 4)
            out += digits[(v >> s) & 0xf];
    return out;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes)
{
    Sha256 h;
    h.update(bytes);
    return h.hex();
}

std::string content_fingerprint(const ModelCard& card)
{
    Sha256 h;
    h.update(card.json_text);
    // Walk the card without recursion (its nesting is input-driven): every string
    // that names an existing regular file next to the card joins the hash.
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(card.json_text);
    } catch (const std::exception&) {
        throw InputError("model card " + card.path.string() + ": not valid JSON");
    }
    std::vector<const nlohmann::json*> stack{&j};
    while (!stack.empty()) {
        const nlohmann::json* v = stack.back();
        stack.pop_back();
        if (v->is_string()) {
            const std::string& s = v->get_ref<const std::string&>();
            if (s.empty() || s.size() > 4096)
                continue;
            std::error_code ec;
            const std::filesystem::path p = card.resolve(s);
            if (std::filesystem::is_regular_file(p, ec)) {
                h.update(s);
                h.update_file(p);
            }
        } else if (v->is_structured()) {
            // Reverse push keeps the card's own order when popping.
            std::vector<const nlohmann::json*> children;
            for (const auto& c : *v)
                children.push_back(&c);
            for (auto it = children.rbegin(); it != children.rend(); ++it)
                stack.push_back(*it);
        }
    }
    return "sha256:" + h.hex();
}

} // namespace noisetrail
