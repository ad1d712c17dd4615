#include "point_drawing.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace noisetrail::ui {

namespace {
constexpr std::size_t kUndoDepth = 64; // snapshots kept (each is at most kMaxPoints pairs)
}

void PointDrawing::pushUndo()
{
    undo_.push_back(points_);
    if (undo_.size() > kUndoDepth)
        undo_.erase(undo_.begin());
}

void PointDrawing::add(double x, double y)
{
    if (count() >= kMaxPoints)
        return;
    points_.push_back(float(x));
    points_.push_back(float(y));
}

void PointDrawing::begin(Tool tool, double x, double y)
{
    pushUndo();
    tool_ = tool;
    stroking_ = true;
    lastX_ = x;
    lastY_ = y;
    carry_ = 0;
    switch (tool) {
    case Tool::Brush: {
        // A click is a dot: a few points even without a drag.
        std::normal_distribution<double> n(0.0, kBrushRadius / 2);
        for (int i = 0; i < 8; ++i)
            add(x + n(rng_), y + n(rng_));
        break;
    }
    case Tool::Spray:
        sprayAt(x, y);
        break;
    case Tool::Eraser:
        eraseAt(x, y);
        break;
    }
}

void PointDrawing::moveTo(double x, double y)
{
    if (!stroking_)
        return;
    switch (tool_) {
    case Tool::Brush:
        brushSegment(lastX_, lastY_, x, y);
        break;
    case Tool::Spray:
        sprayAt(x, y);
        break;
    case Tool::Eraser:
        // Erase along the segment, not only at the event's point (a fast drag skips pixels).
        for (double d = 0, len = std::hypot(x - lastX_, y - lastY_); d <= len; d += kEraserRadius / 2)
            eraseAt(lastX_ + (x - lastX_) * (len > 0 ? d / len : 0), lastY_ + (y - lastY_) * (len > 0 ? d / len : 0));
        eraseAt(x, y);
        break;
    }
    lastX_ = x;
    lastY_ = y;
}

void PointDrawing::dab()
{
    if (stroking_ && tool_ == Tool::Spray)
        sprayAt(lastX_, lastY_);
}

void PointDrawing::brushSegment(double x0, double y0, double x1, double y1)
{
    // Points evenly along the path (kBrushDensity per unit), so a stroke's density does
    // not depend on how fast the mouse moved.
    const double len = std::hypot(x1 - x0, y1 - y0);
    std::normal_distribution<double> n(0.0, kBrushRadius / 2);
    double d = 1.0 / kBrushDensity - carry_;
    for (; d <= len; d += 1.0 / kBrushDensity) {
        const double f = len > 0 ? d / len : 0;
        add(x0 + f * (x1 - x0) + n(rng_), y0 + f * (y1 - y0) + n(rng_));
    }
    carry_ = len - (d - 1.0 / kBrushDensity);
}

void PointDrawing::sprayAt(double x, double y)
{
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < kSprayDab; ++i) {
        // Uniform in the disc: radius sqrt(u) R.
        const double r = kSprayRadius * std::sqrt(u(rng_)), a = 2 * std::numbers::pi * u(rng_);
        add(x + r * std::cos(a), y + r * std::sin(a));
    }
}

void PointDrawing::eraseAt(double x, double y)
{
    std::vector<float> kept;
    kept.reserve(points_.size());
    for (std::size_t i = 0; i + 1 < points_.size(); i += 2)
        if (std::hypot(points_[i] - x, points_[i + 1] - y) > kEraserRadius) {
            kept.push_back(points_[i]);
            kept.push_back(points_[i + 1]);
        }
    points_.swap(kept);
}

void PointDrawing::clear()
{
    pushUndo();
    points_.clear();
}

void PointDrawing::replace(std::vector<float> points)
{
    pushUndo();
    points.resize(std::min(points.size(), std::size_t(2 * kMaxPoints)) / 2 * 2);
    points_ = std::move(points);
}

bool PointDrawing::undo()
{
    if (undo_.empty())
        return false;
    points_ = std::move(undo_.back());
    undo_.pop_back();
    stroking_ = false;
    return true;
}

std::vector<float> PointDrawing::dataset(int n, std::uint64_t seed) const
{
    const int m = count();
    if (m == 0 || n <= 0)
        return {};
    std::mt19937_64 rng(seed);
    std::vector<float> out;
    out.reserve(std::size_t(2 * n));
    if (m >= n) {
        std::vector<int> idx(static_cast<std::size_t>(m));
        std::iota(idx.begin(), idx.end(), 0);
        std::shuffle(idx.begin(), idx.end(), rng);
        idx.resize(std::size_t(n));
        std::sort(idx.begin(), idx.end()); // the drawing's order
        for (int i : idx) {
            out.push_back(points_[std::size_t(2 * i)]);
            out.push_back(points_[std::size_t(2 * i + 1)]);
        }
        return out;
    }
    out = points_;
    std::uniform_int_distribution<int> pick(0, m - 1);
    std::normal_distribution<double> jitter(0.0, kJitter);
    while (int(out.size() / 2) < n) {
        const int i = pick(rng);
        out.push_back(float(points_[std::size_t(2 * i)] + jitter(rng)));
        out.push_back(float(points_[std::size_t(2 * i + 1)] + jitter(rng)));
    }
    return out;
}

std::vector<float> PointDrawing::ring(int n, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 2 * std::numbers::pi);
    std::normal_distribution<double> noise(0.0, 0.05);
    std::vector<float> out;
    for (int i = 0; i < n; ++i) {
        const double a = u(rng), r = 1.2 + noise(rng);
        out.push_back(float(r * std::cos(a)));
        out.push_back(float(r * std::sin(a)));
    }
    return out;
}

std::vector<float> PointDrawing::twoMoons(int n, std::uint64_t seed)
{
    // sklearn.datasets.make_moons: the outer moon (cos a, sin a), the inner (1 - cos a,
    // 0.5 - sin a) for a in [0, pi]; centred on the origin ((0.5, 0.25) subtracted).
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, std::numbers::pi);
    std::normal_distribution<double> noise(0.0, 0.06);
    std::vector<float> out;
    for (int i = 0; i < n; ++i) {
        const double a = u(rng);
        const bool outer = i % 2 == 0;
        const double x = outer ? std::cos(a) : 1 - std::cos(a), y = outer ? std::sin(a) : 0.5 - std::sin(a);
        out.push_back(float(x - 0.5 + noise(rng)));
        out.push_back(float(y - 0.25 + noise(rng)));
    }
    return out;
}

std::vector<float> PointDrawing::fromRaster(const std::vector<bool>& ink, int w, int h, double extent, int n,
                                            std::uint64_t seed)
{
    std::vector<int> inked;
    for (int i = 0; i < w * h && i < int(ink.size()); ++i)
        if (ink[std::size_t(i)])
            inked.push_back(i);
    if (inked.empty() || n <= 0)
        return {};
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, inked.size() - 1);
    std::uniform_real_distribution<double> inPixel(0.0, 1.0);
    const double scale = 2 * extent / std::max(w, h);
    std::vector<float> out;
    for (int k = 0; k < n; ++k) {
        const int i = inked[pick(rng)];
        const double px = i % w + inPixel(rng), py = i / w + inPixel(rng);
        out.push_back(float((px - w / 2.0) * scale));
        out.push_back(float((h / 2.0 - py) * scale)); // rows go down, y goes up
    }
    return out;
}

} // namespace noisetrail::ui
