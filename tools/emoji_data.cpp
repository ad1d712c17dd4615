// noisetrail-emoji-data: the colour data set of NoiseTrail, rendered offline from
// Debian's packages (scripts/fetch_emoji.sh runs it). Every fully-qualified emoji
// of Unicode's emoji-test.txt without a skin-tone modifier is drawn from the Noto
// Color Emoji font with QPainter on an offscreen QGuiApplication (HarfBuzz forms
// the ZWJ sequences, flags and keycaps), cropped to its ink, centred in a square
// with a small margin, reduced to size x size by exact area averaging (a box
// filter weighting each source pixel by the fraction of it inside the target
// pixel), and composited over a white background. Labels are the Unicode emoji
// groups (Component holds no fully-qualified emoji, so 9 classes remain).
//
// Writes DIR/{train,heldout}_{images,labels}.npy (float32 [N, 3, S, S] in
// [-1, 1], int64 [N]), DIR/classes.txt (one group a line, the label's index is
// the line's) and DIR/emoji.csv (split, index, label, code points, name).
// The split is stratified by group and seeded (mt19937, our own Fisher-Yates,
// so it is the same with every standard library).
#include "noisetrail/image_io.hpp"
#include "noisetrail/npy.hpp"

#include <QFile>
#include <QFont>
#include <QFontDatabase>
#include <QFontMetricsF>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QTextLayout>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

struct Emoji {
    std::vector<char32_t> codepoints;
    std::string hex;  ///< "1F468 200D 1F469", as emoji-test.txt writes it
    std::string name; ///< CLDR short name
    int group = 0;
};

struct Options {
    std::string font = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
    std::string emojiTest = "/usr/share/unicode/emoji/emoji-test.txt";
    std::filesystem::path out;
    std::filesystem::path subset;
    std::filesystem::path grid;
    int size = 32;
    unsigned seed = 24;
    double heldout = 0.15;
    int subsetPerClass = 32;
};

[[noreturn]] void fail(const std::string& message)
{
    std::cerr << "noisetrail-emoji-data: " << message << "\n";
    std::exit(2);
}

const char* kUsage =
    "usage: noisetrail-emoji-data --out DIR [--font TTF] [--emoji-test FILE] [--size S] [--seed N]\n"
    "         [--heldout FRACTION] [--subset DIR [--subset-per-class K]] [--grid PNG]\n"
    "Renders every fully-qualified emoji without a skin-tone modifier at S x S RGB\n"
    "(default 32) on white, labelled by Unicode emoji group, with a seeded stratified\n"
    "train/held-out split (default 15% held out). --subset also writes the first K\n"
    "training emoji of each group (default 32) as DIR/emoji-train-<N>_{images,labels}.npy\n"
    "(the exact colour card's data); --grid a PNG of 9 training emoji per group, a row each.\n";

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                fail(a + " needs a value");
            return argv[++i];
        };
        auto number = [&](double lo, double hi) {
            const std::string v = value();
            try {
                std::size_t used = 0;
                const double d = std::stod(v, &used);
                if (used == v.size() && d >= lo && d <= hi)
                    return d;
            } catch (...) {
            }
            fail(a + ": expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'");
        };
        if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            std::exit(0);
        } else if (a == "--out")
            o.out = value();
        else if (a == "--font")
            o.font = value();
        else if (a == "--emoji-test")
            o.emojiTest = value();
        else if (a == "--size")
            o.size = int(number(4, 512));
        else if (a == "--seed")
            o.seed = unsigned(number(0, 4294967295.0));
        else if (a == "--heldout")
            o.heldout = number(0, 0.9);
        else if (a == "--subset")
            o.subset = value();
        else if (a == "--subset-per-class")
            o.subsetPerClass = int(number(1, 10000));
        else if (a == "--grid")
            o.grid = value();
        else
            fail("unknown argument '" + a + "'\n" + kUsage);
    }
    if (o.out.empty())
        fail(std::string("--out DIR is required\n") + kUsage);
    return o;
}

std::string trim(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// emoji-test.txt: "# group: NAME" lines open a group; "CP CP ... ; fully-qualified # e Ex.y name".
std::vector<Emoji> readEmojiTest(const std::string& path, std::vector<std::string>& groups)
{
    std::ifstream in(path);
    if (!in)
        fail(path + ": cannot read (apt-get install unicode-data)");
    std::vector<Emoji> all;
    std::map<std::string, int> groupIndex;
    std::string line;
    int group = -1;
    std::string groupName;
    while (std::getline(in, line)) {
        if (line.rfind("# group: ", 0) == 0) {
            groupName = trim(line.substr(9));
            group = -1; // indexed when its first emoji is kept (Component keeps none)
            continue;
        }
        if (line.empty() || line[0] == '#')
            continue;
        const auto semi = line.find(';'), hash = line.find('#');
        if (semi == std::string::npos || hash == std::string::npos || hash < semi)
            continue;
        if (trim(line.substr(semi + 1, hash - semi - 1)) != "fully-qualified")
            continue;
        Emoji e;
        e.hex = trim(line.substr(0, semi));
        bool skinTone = false;
        for (std::size_t p = 0; p < e.hex.size();) {
            std::size_t used = 0;
            const auto cp = char32_t(std::stoul(e.hex.substr(p), &used, 16));
            skinTone = skinTone || (cp >= 0x1F3FB && cp <= 0x1F3FF);
            e.codepoints.push_back(cp);
            p += used;
            while (p < e.hex.size() && e.hex[p] == ' ')
                ++p;
        }
        if (skinTone)
            continue; // the same picture in five skin tones would swamp People & Body
        // "# 😀 E1.0 grinning face": the name follows the version.
        const std::string comment = line.substr(hash + 1);
        const auto ver = comment.find(" E");
        const auto sp = ver == std::string::npos ? std::string::npos : comment.find(' ', ver + 2);
        e.name = sp == std::string::npos ? trim(comment) : trim(comment.substr(sp + 1));
        if (group < 0) {
            auto [it, fresh] = groupIndex.emplace(groupName, int(groups.size()));
            if (fresh)
                groups.push_back(groupName);
            group = it->second;
        }
        e.group = group;
        all.push_back(std::move(e));
    }
    if (all.empty())
        fail(path + ": no fully-qualified emoji found (is it Unicode's emoji-test.txt?)");
    return all;
}

/// Exact area averaging of a square premultiplied RGBA picture (side n) to side m:
/// target pixel j covers source [j n/m, (j+1) n/m), each source pixel weighted by its overlap.
std::vector<std::vector<std::pair<int, double>>> boxWeights(int n, int m)
{
    std::vector<std::vector<std::pair<int, double>>> w(static_cast<std::size_t>(m));
    const double scale = double(n) / m;
    for (int j = 0; j < m; ++j) {
        const double a = j * scale, b = (j + 1) * scale;
        for (int i = int(std::floor(a)); i < int(std::ceil(b)) && i < n; ++i) {
            const double overlap = std::min(b, i + 1.0) - std::max(a, double(i));
            if (overlap > 0)
                w[std::size_t(j)].push_back({i, overlap / scale});
        }
    }
    return w;
}

class Renderer {
public:
    Renderer(const QString& family, int size) : size_(size)
    {
        font_ = QFont(family);
        font_.setPixelSize(109); // the font's one bitmap strike (CBDT, 109 ppem): drawn unscaled
        font_.setStyleStrategy(QFont::StyleStrategy(QFont::NoFontMerging | QFont::PreferMatch));
        QFontMetricsF fm(font_);
        canvas_ = int(std::ceil(std::max(fm.height(), fm.horizontalAdvance(QStringLiteral("\U0001F600"))))) * 2;
        single_ = fm.horizontalAdvance(QStringLiteral("\U0001F600"));
    }

    /// The emoji at size x size, [3, S, S] in [-1, 1] on white; empty if the font
    /// lacks it (a glyph missing, or a sequence it does not join into one picture).
    std::vector<float> render(const Emoji& e) const
    {
        QString text;
        for (char32_t cp : e.codepoints)
            text += QString::fromUcs4(&cp, 1);
        QTextLayout layout(text, font_);
        layout.beginLayout();
        QTextLine line = layout.createLine();
        layout.endLayout();
        int inked = 0;
        for (const QGlyphRun& run : layout.glyphRuns())
            for (quint32 g : run.glyphIndexes())
                if (g == 0)
                    return {}; // .notdef: the font has no picture for it
        if (line.naturalTextWidth() > 1.5 * single_)
            return {}; // shown as several pictures side by side: the font does not join this sequence
        QImage img(canvas_, canvas_, QImage::Format_ARGB32_Premultiplied);
        img.fill(Qt::transparent);
        {
            QPainter p(&img);
            p.setFont(font_);
            layout.draw(&p, QPointF(canvas_ / 4.0, canvas_ / 4.0));
        }
        // The ink's bounding box.
        int x0 = canvas_, y0 = canvas_, x1 = -1, y1 = -1;
        for (int y = 0; y < canvas_; ++y) {
            const auto* row = reinterpret_cast<const QRgb*>(img.constScanLine(y));
            for (int x = 0; x < canvas_; ++x)
                if (qAlpha(row[x]) > 0) {
                    x0 = std::min(x0, x);
                    x1 = std::max(x1, x);
                    y0 = std::min(y0, y);
                    y1 = std::max(y1, y);
                    ++inked;
                }
        }
        if (inked == 0)
            return {};
        // Centre the ink in a square with a margin of 1/16 of its side on each side.
        const int w = x1 - x0 + 1, h = y1 - y0 + 1, ink = std::max(w, h);
        const int margin = int(std::lround(ink / 16.0)), side = ink + 2 * margin;
        const int ox = x0 - margin - (ink - w) / 2, oy = y0 - margin - (ink - h) / 2;
        const auto wt = boxWeights(side, size_);
        // Rows first, then columns; premultiplied RGBA in [0, 1].
        std::vector<double> rows(std::size_t(size_) * side * 4, 0.0);
        for (int j = 0; j < size_; ++j)
            for (const auto& [i, a] : wt[std::size_t(j)]) {
                const int y = oy + i;
                if (y < 0 || y >= canvas_)
                    continue;
                const auto* row = reinterpret_cast<const QRgb*>(img.constScanLine(y));
                for (int x = 0; x < side; ++x) {
                    const int sx = ox + x;
                    if (sx < 0 || sx >= canvas_)
                        continue;
                    const QRgb c = row[sx];
                    double* d = &rows[(std::size_t(j) * side + x) * 4];
                    d[0] += a * qRed(c) / 255.0;
                    d[1] += a * qGreen(c) / 255.0;
                    d[2] += a * qBlue(c) / 255.0;
                    d[3] += a * qAlpha(c) / 255.0;
                }
            }
        std::vector<float> out(std::size_t(3) * size_ * size_);
        const std::size_t plane = std::size_t(size_) * size_;
        for (int j = 0; j < size_; ++j)
            for (int k = 0; k < size_; ++k) {
                double px[4] = {0, 0, 0, 0};
                for (const auto& [i, a] : wt[std::size_t(k)])
                    for (int c = 0; c < 4; ++c)
                        px[c] += a * rows[(std::size_t(j) * side + i) * 4 + c];
                for (int c = 0; c < 3; ++c) {
                    // "over" a white background: premultiplied colour + (1 - alpha) * 1.
                    const double v = std::clamp(px[c] + (1.0 - px[3]), 0.0, 1.0);
                    out[c * plane + std::size_t(j) * size_ + k] = float(2.0 * v - 1.0);
                }
            }
        return out;
    }

private:
    QFont font_;
    int size_ = 32, canvas_ = 256;
    double single_ = 128;
};

void writeSet(const std::filesystem::path& dir, const std::string& stem, const std::vector<float>& images,
              const std::vector<std::int64_t>& labels, int size)
{
    const std::int64_t n = std::int64_t(labels.size());
    noisetrail::write_npy(dir / (stem + "_images.npy"), {n, 3, size, size}, images.data());
    noisetrail::write_npy(dir / (stem + "_labels.npy"), {n}, labels.data());
}

} // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen"); // no display needed
    QGuiApplication app(argc, argv);
    if (!QFile::exists(QString::fromStdString(o.font)))
        fail(o.font + ": no such font (apt-get install fonts-noto-color-emoji)");
    const int id = QFontDatabase::addApplicationFont(QString::fromStdString(o.font));
    if (id < 0 || QFontDatabase::applicationFontFamilies(id).isEmpty())
        fail(o.font + ": Qt cannot load this font");
    std::vector<std::string> groups;
    const std::vector<Emoji> emoji = readEmojiTest(o.emojiTest, groups);
    const Renderer renderer(QFontDatabase::applicationFontFamilies(id).first(), o.size);

    // Render; per group the indices of the emoji the font draws.
    std::vector<std::vector<float>> pictures(emoji.size());
    std::vector<std::vector<std::size_t>> byGroup(groups.size());
    int missing = 0;
    for (std::size_t i = 0; i < emoji.size(); ++i) {
        pictures[i] = renderer.render(emoji[i]);
        if (pictures[i].empty()) {
            ++missing;
            std::cerr << "noisetrail-emoji-data: the font does not draw " << emoji[i].hex << " (" << emoji[i].name
                      << "), skipped\n";
            continue;
        }
        byGroup[std::size_t(emoji[i].group)].push_back(i);
    }

    // Seeded stratified split: shuffle each group, its first round(f n) are held out.
    std::mt19937 rng(o.seed);
    std::vector<std::size_t> train, heldout;
    std::vector<std::vector<std::size_t>> trainByGroup(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) {
        auto& v = byGroup[g];
        for (std::size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[rng() % i]);
        const auto h = std::size_t(std::lround(o.heldout * double(v.size())));
        heldout.insert(heldout.end(), v.begin(), v.begin() + std::ptrdiff_t(h));
        trainByGroup[g].assign(v.begin() + std::ptrdiff_t(h), v.end());
        train.insert(train.end(), v.begin() + std::ptrdiff_t(h), v.end());
    }
    // Keep the file order of emoji-test.txt within each split (CLDR order: neighbours look alike).
    std::sort(train.begin(), train.end());
    std::sort(heldout.begin(), heldout.end());

    auto gather = [&](const std::vector<std::size_t>& idx, std::vector<float>& images, std::vector<std::int64_t>& labels) {
        for (std::size_t i : idx) {
            images.insert(images.end(), pictures[i].begin(), pictures[i].end());
            labels.push_back(emoji[i].group);
        }
    };
    std::filesystem::create_directories(o.out);
    std::vector<float> images;
    std::vector<std::int64_t> labels;
    gather(train, images, labels);
    writeSet(o.out, "train", images, labels, o.size);
    images.clear();
    labels.clear();
    gather(heldout, images, labels);
    writeSet(o.out, "heldout", images, labels, o.size);
    {
        std::ofstream names(o.out / "classes.txt");
        for (const auto& g : groups)
            names << g << "\n";
        std::ofstream csv(o.out / "emoji.csv");
        csv << "split,index,label,codepoints,name\n";
        auto rows = [&](const std::vector<std::size_t>& idx, const char* split) {
            for (std::size_t k = 0; k < idx.size(); ++k) {
                const Emoji& e = emoji[idx[k]];
                std::string name = e.name;
                std::replace(name.begin(), name.end(), ',', ';');
                csv << split << "," << k << "," << e.group << "," << e.hex << "," << name << "\n";
            }
        };
        rows(train, "train");
        rows(heldout, "heldout");
        if (!names || !csv)
            fail((o.out / "classes.txt").string() + ": cannot write");
    }
    std::cout << "noisetrail-emoji-data: " << train.size() << " train, " << heldout.size() << " held-out emoji in "
              << groups.size() << " groups (" << missing << " the font does not draw) -> " << o.out.string() << "\n";
    for (std::size_t g = 0; g < groups.size(); ++g)
        std::cout << "  " << g << " " << groups[g] << ": " << byGroup[g].size() << "\n";

    // The exact card's data: the first K training emoji of each group (in the seeded order).
    if (!o.subset.empty()) {
        images.clear();
        labels.clear();
        for (std::size_t g = 0; g < groups.size(); ++g) {
            auto v = trainByGroup[g];
            v.resize(std::min(v.size(), std::size_t(o.subsetPerClass)));
            std::sort(v.begin(), v.end());
            gather(v, images, labels);
        }
        std::filesystem::create_directories(o.subset);
        const std::string stem = "emoji-train-" + std::to_string(labels.size());
        writeSet(o.subset, stem, images, labels, o.size);
        std::cout << "  subset: " << labels.size() << " emoji -> " << (o.subset / stem).string() << "_*.npy\n";
    }
    // A sample grid: 9 training emoji of each group, one group a row.
    if (!o.grid.empty()) {
        const int per = 9;
        images.clear();
        for (std::size_t g = 0; g < groups.size(); ++g)
            for (int k = 0; k < per; ++k) {
                const auto& v = trainByGroup[g];
                if (v.empty())
                    continue;
                const auto& pic = pictures[v[std::size_t(k) * v.size() / per]];
                images.insert(images.end(), pic.begin(), pic.end());
            }
        const int n = int(images.size() / (std::size_t(3) * o.size * o.size));
        noisetrail::write_png(o.grid, noisetrail::image_grid(images, n, 3, o.size, o.size, -1, 1, 3, noisetrail::ColourMap::Grey, 2, 40));
    }
    return 0;
}
