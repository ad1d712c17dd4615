// Internal: the project's own networks (libtorch C++ module API) and their
// weights files. Torch lives here; the public API is training.hpp / classifier.hpp.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace noisetrail::nn {

/// The class input of a conditional network with `classes` classes: `c`, or the null
/// label `classes` for every row when `c` is undefined; on `like`'s device.
torch::Tensor class_input(const torch::Tensor& c, int classes, std::int64_t batch, const torch::Tensor& like);

/// Transformer-style sinusoidal embedding of timesteps (Ho et al. 2020, sec. 4,
/// after Vaswani et al. 2017): [B] -> [B, dim], half sines, half cosines.
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);

// ---------------------------------------------------------------- UNet
struct UNetConfig {
    int in_channels = 1;
    int base_channels = 32;
    std::vector<int> channel_mult{1, 2, 2}; ///< channels per resolution level, times base
    int time_dim = 128;
    int groups = 8;                          ///< GroupNorm groups (channels must divide)
    /// Classes of a conditional network (contract section 9): a learned embedding per
    /// class plus the null label `classes`, added to the time embedding. 0: unconditional.
    int classes = 0;
};
nlohmann::json to_json(const UNetConfig& c);
/// Parse an "architecture" object; throws InputError prefixed by `where`.
UNetConfig unet_config_from(const nlohmann::json& j, const std::string& where);
/// Parameters (and buffers) of UNet(c), in closed form: known before anything is allocated.
std::int64_t parameter_count(const UNetConfig& c);

/// GroupNorm -> SiLU -> conv, twice, with the time embedding added in between
/// (the DDPM residual block, Ho et al. 2020 appendix B, without dropout).
struct ResBlockImpl : torch::nn::Module {
    ResBlockImpl(int in_ch, int out_ch, int time_dim, int groups);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb);
    torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, skip{nullptr};
    torch::nn::Linear time_proj{nullptr};
};
TORCH_MODULE(ResBlock);

/// A small epsilon-predicting UNet: one residual block per level on the way
/// down and up, stride-2 convolutions down, nearest upsampling + convolution up
/// (ConvTranspose2d takes a slow path on this libtorch).
struct UNetImpl : torch::nn::Module {
    explicit UNetImpl(const UNetConfig& config);
    /// x: float32 [B, C, H, W]; t: int64 [B]; c: int64 [B] classes of a conditional
    /// network (undefined: the null label). Returns eps_theta(x, t, c), float32 [B, C, H, W].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& c = {});

    UNetConfig config;
    torch::nn::Sequential time_mlp{nullptr};
    torch::nn::Embedding class_emb{nullptr}; ///< conditional networks only
    torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    torch::nn::GroupNorm norm_out{nullptr};
    std::vector<ResBlock> down, up;
    std::vector<torch::nn::Conv2d> downsample, upsample;
    ResBlock mid{nullptr};
};
TORCH_MODULE(UNet);

// ---------------------------------------------------------------- MLP (2-D data)
struct MlpConfig {
    int dim = 2;
    int hidden = 128;
    int blocks = 3;
    int time_dim = 64;
    int classes = 0; ///< as UNetConfig::classes
};
nlohmann::json to_json(const MlpConfig& c);
MlpConfig mlp_config_from(const nlohmann::json& j, const std::string& where);
std::int64_t parameter_count(const MlpConfig& c);

/// Residual MLP eps_theta(x, t) for low-dimensional data; the time embedding
/// enters every block.
struct MlpDenoiserImpl : torch::nn::Module {
    explicit MlpDenoiserImpl(const MlpConfig& config);
    /// x: float32 [B, dim]; t: int64 [B]; c as UNetImpl::forward.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& c = {});

    MlpConfig config;
    torch::nn::Sequential time_mlp{nullptr};
    torch::nn::Embedding class_emb{nullptr}; ///< conditional networks only
    torch::nn::Linear in{nullptr}, out{nullptr};
    std::vector<torch::nn::Linear> lin1, lin2, tproj;
};
TORCH_MODULE(MlpDenoiser);

// ---------------------------------------------------------------- digit classifier
struct ClassifierConfig {
    int in_channels = 1;
    int height = 28, width = 28;
    int classes = 10;
    int feature_dim = 128; ///< size of the penultimate layer (the metric features)
};
nlohmann::json to_json(const ClassifierConfig& c);
ClassifierConfig classifier_config_from(const nlohmann::json& j, const std::string& where);
std::int64_t parameter_count(const ClassifierConfig& c);

/// conv-pool, conv-pool, conv, then a fully connected layer whose (post-ReLU)
/// activations are the features, then the class logits.
struct ClassifierNetImpl : torch::nn::Module {
    explicit ClassifierNetImpl(const ClassifierConfig& config);
    struct Output {
        torch::Tensor logits;   ///< [B, classes]
        torch::Tensor features; ///< [B, feature_dim]
    };
    /// x: float32 [B, C, H, W] in [-1, 1].
    Output forward(const torch::Tensor& x);

    ClassifierConfig config;
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    torch::nn::Linear fc{nullptr}, head{nullptr};
    torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ClassifierNet);

// ---------------------------------------------------------------- weights files
/// Write every parameter and buffer of `module` by name (torch::serialize archive).
void save_weights(torch::nn::Module& module, const std::filesystem::path& path);
/// Read a file written by save_weights into `module`, checking that every
/// tensor exists with the expected shape. Throws InputError "WHERE: weights
/// file F ..." naming the first missing, extra or mismatched tensor.
void load_weights(torch::nn::Module& module, const std::filesystem::path& path, const std::string& where);

/// Copy parameters and buffers of `from` into `to` (same architecture).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to);

} // namespace noisetrail::nn
