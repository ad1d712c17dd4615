// Reading model-card fields that more than one parser needs (internal).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace noisetrail::detail {

/// One mixture mean, written either as a flat list of prod(shape) numbers or nested to
/// the data shape (as numpy's tolist() writes an array of that shape). Appends its
/// numbers in row-major order and returns true; returns false, appending nothing, for
/// any other layout or an element that is not a number.
inline bool read_mean(const nlohmann::json& mu, const std::vector<std::int64_t>& shape, std::vector<double>& out)
{
    std::int64_t dim = 1;
    for (auto s : shape)
        dim *= s;
    if (!mu.is_array())
        return false;
    std::vector<double> values;
    bool flat = static_cast<std::int64_t>(mu.size()) == dim;
    for (std::size_t i = 0; flat && i < mu.size(); ++i)
        flat = mu[i].is_number();
    if (flat) {
        for (const auto& v : mu)
            values.push_back(v.get<double>());
    } else {
        // Nested: level d must be an array of shape[d] entries; numbers at the last level.
        // The depth is bounded by the data shape's rank, not by the input.
        struct Walk {
            const std::vector<std::int64_t>& shape;
            std::vector<double>& values;
            bool operator()(const nlohmann::json& node, std::size_t d) const
            {
                if (d == shape.size()) {
                    if (!node.is_number())
                        return false;
                    values.push_back(node.get<double>());
                    return true;
                }
                if (!node.is_array() || static_cast<std::int64_t>(node.size()) != shape[d])
                    return false;
                for (const auto& child : node)
                    if (!(*this)(child, d + 1))
                        return false;
                return true;
            }
        };
        if (shape.size() < 2 || !Walk{shape, values}(mu, 0))
            return false;
    }
    out.insert(out.end(), values.begin(), values.end());
    return true;
}

} // namespace noisetrail::detail
