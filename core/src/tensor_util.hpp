// Internal: copies between plain vectors and tensors.
#pragma once
#include "noisetrail/model_card.hpp"

#include <ATen/ATen.h>

#include <cstring>
#include <span>
#include <vector>

namespace noisetrail::detail {

inline std::vector<std::int64_t> batch_shape(const ModelCard& card, std::int64_t batch)
{
    std::vector<std::int64_t> s{batch};
    s.insert(s.end(), card.data_shape.begin(), card.data_shape.end());
    return s;
}

/// An owning float64 CPU tensor with a copy of `v`.
inline at::Tensor to_tensor(std::span<const double> v, const std::vector<std::int64_t>& shape)
{
    return at::from_blob(const_cast<double*>(v.data()), shape, at::kDouble).clone();
}

inline at::Tensor to_tensor(std::span<const float> v, const std::vector<std::int64_t>& shape)
{
    return at::from_blob(const_cast<float*>(v.data()), shape, at::kFloat).clone();
}

template <typename T>
std::vector<T> to_vector(const at::Tensor& t)
{
    const at::Tensor c = t.to(at::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
    std::vector<T> out(static_cast<std::size_t>(c.numel()));
    std::memcpy(out.data(), c.data_ptr<T>(), out.size() * sizeof(T));
    return out;
}

inline std::vector<double> to_doubles(const at::Tensor& t) { return to_vector<double>(t); }
inline std::vector<float> to_floats(const at::Tensor& t) { return to_vector<float>(t); }

} // namespace noisetrail::detail
