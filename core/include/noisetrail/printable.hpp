// Text from files made safe for terminals and labels (one home for the rule).
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace noisetrail {

/// `text` (from a file, so hostile) made safe to show on a terminal or a label:
/// control characters (C0 except newline and tab, DEL, C1 U+0080..U+009F) and bytes
/// that are not valid UTF-8 become \xNN, so an ESC [2J in a card's kind cannot clear
/// the terminal. Valid UTF-8 passes unchanged. Applied where text leaves the program:
/// the CLI's error printer, `session info`, the GUI's error banner (docs/HARDENING.md).
inline std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    const auto escape = [&](unsigned char c) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
        out += buf;
    };
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                escape(c);
            else
                out += char(c);
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length from the lead byte, then continuation bytes;
        // overlong forms, surrogates and code points past U+10FFFF are invalid.
        const std::size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        bool ok = len > 0 && i + len <= text.size();
        char32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(text[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3F);
        }
        ok = ok && !(len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) &&
             !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) && !(cp >= 0x80 && cp <= 0x9F);
        if (!ok) {
            escape(c);
            ++i;
            continue;
        }
        out.append(text.substr(i, len));
        i += len;
    }
    return out;
}

} // namespace noisetrail
