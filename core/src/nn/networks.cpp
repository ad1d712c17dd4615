#include "nn/networks.hpp"

#include "noisetrail/atomic_file.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/limits.hpp"

#include <cmath>
#include <set>

namespace noisetrail::nn {

namespace F = torch::nn::functional;

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim)
{
    const int half = dim / 2;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(t.device());
    // freqs_i = 10000^(-i / half), i = 0..half-1
    const torch::Tensor freqs = torch::exp(torch::arange(half, opts) * (-std::log(10000.0) / half));
    const torch::Tensor args = t.to(torch::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
    return torch::cat({torch::sin(args), torch::cos(args)}, 1);
}

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what)
{
    throw InputError(where + ": " + what);
}

int get_int(const nlohmann::json& j, const char* key, int def, int lo, int hi, const std::string& where)
{
    if (!j.contains(key))
        return def;
    if (!j[key].is_number_integer() || j[key].get<long long>() < lo || j[key].get<long long>() > hi)
        bad(where, std::string("'architecture.") + key + "' must be an integer in " + std::to_string(lo) + ".." +
                       std::to_string(hi));
    return j[key].get<int>();
}

void require_object(const nlohmann::json& j, const std::string& where)
{
    if (!j.is_object())
        bad(where, "field 'architecture' must be an object");
}

torch::nn::Conv2d make_conv3(int in, int out, int stride = 1)
{
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

int group_count(int channels, int groups)
{
    int g = std::min(groups, channels);
    while (channels % g != 0)
        --g;
    return g;
}

// Parameter counts of the layers the networks below are made of (weights + biases).
std::int64_t conv3_params(std::int64_t in, std::int64_t out) { return 9 * in * out + out; }
std::int64_t conv1_params(std::int64_t in, std::int64_t out) { return in * out + out; }
std::int64_t linear_params(std::int64_t in, std::int64_t out) { return in * out + out; }
std::int64_t group_norm_params(std::int64_t c) { return 2 * c; }

std::int64_t res_block_params(std::int64_t in, std::int64_t out, std::int64_t time_dim)
{
    return group_norm_params(in) + conv3_params(in, out) + linear_params(time_dim, out) + group_norm_params(out) +
           conv3_params(out, out) + (in != out ? conv1_params(in, out) : 0);
}

/// An architecture whose weights would not fit the memory budget is refused before
/// the network is built: a 1 KB card once asked for 2.5-3.5 GB. Loading holds the
/// float32 weights twice (the network and the weights archive being read).
void check_network_budget(std::int64_t params, const std::string& where)
{
    check_memory_budget(where + ": field 'architecture' (a network of " + std::to_string(params) + " parameters)",
                        2.0 * 4.0 * static_cast<double>(params));
}

} // namespace

// ---------------------------------------------------------------- UNet

std::int64_t parameter_count(const UNetConfig& c)
{
    const std::int64_t td = c.time_dim;
    std::vector<std::int64_t> ch;
    for (int m : c.channel_mult)
        ch.push_back(std::int64_t{c.base_channels} * m);
    const std::size_t L = ch.size();
    std::int64_t n = 2 * linear_params(td, td) + conv3_params(c.in_channels, ch[0]);
    std::int64_t prev = ch[0];
    for (std::size_t i = 0; i < L; ++i) {
        n += res_block_params(prev, ch[i], td) + (i + 1 < L ? conv3_params(ch[i], ch[i]) : 0);
        prev = ch[i];
    }
    n += res_block_params(prev, prev, td);
    for (std::size_t k = 0; k < L; ++k) {
        const std::size_t i = L - 1 - k;
        n += res_block_params(prev + ch[i], ch[i], td);
        prev = ch[i];
        if (i > 0) {
            n += conv3_params(ch[i], ch[i - 1]);
            prev = ch[i - 1];
        }
    }
    return n + group_norm_params(ch[0]) + conv3_params(ch[0], c.in_channels) +
           (c.classes > 0 ? std::int64_t{c.classes + 1} * td : 0);
}

torch::Tensor class_input(const torch::Tensor& c, int classes, std::int64_t batch, const torch::Tensor& like)
{
    if (!c.defined())
        return torch::full({batch}, std::int64_t{classes}, torch::TensorOptions().dtype(torch::kLong).device(like.device()));
    return c.to(like.device(), torch::kLong);
}

nlohmann::json to_json(const UNetConfig& c)
{
    nlohmann::json j{{"in_channels", c.in_channels}, {"base_channels", c.base_channels},
                     {"channel_mult", c.channel_mult}, {"time_dim", c.time_dim}, {"groups", c.groups}};
    if (c.classes > 0) // absent on unconditional networks: their cards and checkpoints stay as they were
        j["classes"] = c.classes;
    return j;
}

UNetConfig unet_config_from(const nlohmann::json& j, const std::string& where)
{
    require_object(j, where);
    UNetConfig c;
    c.in_channels = get_int(j, "in_channels", c.in_channels, 1, 4, where);
    c.base_channels = get_int(j, "base_channels", c.base_channels, 4, 512, where);
    c.time_dim = get_int(j, "time_dim", c.time_dim, 8, 2048, where);
    c.groups = get_int(j, "groups", c.groups, 1, 64, where);
    c.classes = get_int(j, "classes", c.classes, 0, 1000, where);
    if (c.time_dim % 2 != 0)
        bad(where, "'architecture.time_dim' must be even");
    if (j.contains("channel_mult")) {
        const auto& m = j["channel_mult"];
        if (!m.is_array() || m.empty() || m.size() > 5)
            bad(where, "'architecture.channel_mult' must be an array of 1 to 5 positive integers");
        c.channel_mult.clear();
        for (const auto& v : m) {
            if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 16)
                bad(where, "'architecture.channel_mult' must be an array of 1 to 5 integers in 1..16");
            c.channel_mult.push_back(v.get<int>());
        }
    }
    check_network_budget(parameter_count(c), where);
    return c;
}

ResBlockImpl::ResBlockImpl(int in_ch, int out_ch, int time_dim, int groups)
{
    norm1 = register_module("norm1", torch::nn::GroupNorm(group_count(in_ch, groups), in_ch));
    conv1 = register_module("conv1", make_conv3(in_ch, out_ch));
    time_proj = register_module("time_proj", torch::nn::Linear(time_dim, out_ch));
    norm2 = register_module("norm2", torch::nn::GroupNorm(group_count(out_ch, groups), out_ch));
    conv2 = register_module("conv2", make_conv3(out_ch, out_ch));
    if (in_ch != out_ch)
        skip = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, out_ch, 1)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb)
{
    torch::Tensor h = conv1(F::silu(norm1(x)));
    h = h + time_proj(temb).unsqueeze(-1).unsqueeze(-1);
    h = conv2(F::silu(norm2(h)));
    return (skip ? skip(x) : x) + h;
}

UNetImpl::UNetImpl(const UNetConfig& c) : config(c)
{
    const int L = static_cast<int>(c.channel_mult.size());
    std::vector<int> ch;
    for (int m : c.channel_mult)
        ch.push_back(c.base_channels * m);
    time_mlp = register_module("time_mlp", torch::nn::Sequential(torch::nn::Linear(c.time_dim, c.time_dim),
                                                                  torch::nn::SiLU(),
                                                                  torch::nn::Linear(c.time_dim, c.time_dim)));
    if (c.classes > 0)
        class_emb = register_module("class_emb", torch::nn::Embedding(c.classes + 1, c.time_dim));
    conv_in = register_module("conv_in", make_conv3(c.in_channels, ch[0]));
    int prev = ch[0];
    for (int i = 0; i < L; ++i) {
        down.push_back(register_module("down" + std::to_string(i), ResBlock(prev, ch[i], c.time_dim, c.groups)));
        prev = ch[i];
        if (i + 1 < L)
            downsample.push_back(register_module("downsample" + std::to_string(i), make_conv3(ch[i], ch[i], 2)));
    }
    mid = register_module("mid", ResBlock(prev, prev, c.time_dim, c.groups));
    // Up path, from the coarsest level: concatenate the skip, one block, then
    // upsample and convolve down to the next level's width.
    for (int i = L - 1; i >= 0; --i) {
        up.push_back(register_module("up" + std::to_string(i), ResBlock(prev + ch[i], ch[i], c.time_dim, c.groups)));
        prev = ch[i];
        if (i > 0) {
            upsample.push_back(register_module("upsample" + std::to_string(i), make_conv3(ch[i], ch[i - 1])));
            prev = ch[i - 1];
        }
    }
    norm_out = register_module("norm_out", torch::nn::GroupNorm(group_count(ch[0], c.groups), ch[0]));
    conv_out = register_module("conv_out", make_conv3(ch[0], c.in_channels));
    // Start as the zero predictor (a common DDPM-code choice that steadies early training).
    torch::NoGradGuard no_grad;
    conv_out->weight.zero_();
    conv_out->bias.zero_();
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& c)
{
    torch::Tensor temb = time_mlp->forward(timestep_embedding(t, config.time_dim));
    // The class enters where time does (the usual class-conditional DDPM / CFG design).
    if (class_emb)
        temb = temb + class_emb(class_input(c, config.classes, x.size(0), x));
    const std::size_t L = down.size();
    std::vector<torch::Tensor> skips;
    torch::Tensor h = conv_in(x);
    for (std::size_t i = 0; i < L; ++i) {
        h = down[i](h, temb);
        skips.push_back(h);
        if (i + 1 < L)
            h = downsample[i](h);
    }
    h = mid(h, temb);
    for (std::size_t k = 0; k < L; ++k) {
        const std::size_t i = L - 1 - k;
        h = up[k](torch::cat({h, skips[i]}, 1), temb);
        if (i > 0) {
            const auto& s = skips[i - 1];
            h = F::interpolate(h, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{s.size(2), s.size(3)})
                                      .mode(torch::kNearest));
            h = upsample[k](h);
        }
    }
    return conv_out(F::silu(norm_out(h)));
}

// ---------------------------------------------------------------- MLP

nlohmann::json to_json(const MlpConfig& c)
{
    nlohmann::json j{{"dim", c.dim}, {"hidden", c.hidden}, {"blocks", c.blocks}, {"time_dim", c.time_dim}};
    if (c.classes > 0)
        j["classes"] = c.classes;
    return j;
}

MlpConfig mlp_config_from(const nlohmann::json& j, const std::string& where)
{
    require_object(j, where);
    MlpConfig c;
    c.dim = get_int(j, "dim", c.dim, 1, 4096, where);
    c.hidden = get_int(j, "hidden", c.hidden, 4, 4096, where);
    c.blocks = get_int(j, "blocks", c.blocks, 1, 32, where);
    c.time_dim = get_int(j, "time_dim", c.time_dim, 8, 2048, where);
    c.classes = get_int(j, "classes", c.classes, 0, 1000, where);
    if (c.time_dim % 2 != 0)
        bad(where, "'architecture.time_dim' must be even");
    check_network_budget(parameter_count(c), where);
    return c;
}

std::int64_t parameter_count(const MlpConfig& c)
{
    return linear_params(c.time_dim, c.hidden) + linear_params(c.hidden, c.hidden) + linear_params(c.dim, c.hidden) +
           std::int64_t{c.blocks} * 3 * linear_params(c.hidden, c.hidden) + linear_params(c.hidden, c.dim) +
           (c.classes > 0 ? std::int64_t{c.classes + 1} * c.hidden : 0);
}

MlpDenoiserImpl::MlpDenoiserImpl(const MlpConfig& c) : config(c)
{
    time_mlp = register_module("time_mlp", torch::nn::Sequential(torch::nn::Linear(c.time_dim, c.hidden),
                                                                  torch::nn::SiLU(),
                                                                  torch::nn::Linear(c.hidden, c.hidden)));
    if (c.classes > 0)
        class_emb = register_module("class_emb", torch::nn::Embedding(c.classes + 1, c.hidden));
    in = register_module("in", torch::nn::Linear(c.dim, c.hidden));
    for (int i = 0; i < c.blocks; ++i) {
        const std::string s = std::to_string(i);
        lin1.push_back(register_module("lin1_" + s, torch::nn::Linear(c.hidden, c.hidden)));
        tproj.push_back(register_module("tproj_" + s, torch::nn::Linear(c.hidden, c.hidden)));
        lin2.push_back(register_module("lin2_" + s, torch::nn::Linear(c.hidden, c.hidden)));
    }
    out = register_module("out", torch::nn::Linear(c.hidden, c.dim));
}

torch::Tensor MlpDenoiserImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& c)
{
    torch::Tensor e = time_mlp->forward(timestep_embedding(t, config.time_dim));
    if (class_emb)
        e = e + class_emb(class_input(c, config.classes, x.size(0), x));
    const torch::Tensor temb = F::silu(e);
    torch::Tensor h = in(x);
    for (std::size_t i = 0; i < lin1.size(); ++i)
        h = h + lin2[i](F::silu(lin1[i](F::silu(h)) + tproj[i](temb)));
    return out(F::silu(h));
}

// ---------------------------------------------------------------- classifier

nlohmann::json to_json(const ClassifierConfig& c)
{
    return {{"in_channels", c.in_channels}, {"height", c.height}, {"width", c.width}, {"classes", c.classes},
            {"feature_dim", c.feature_dim}};
}

ClassifierConfig classifier_config_from(const nlohmann::json& j, const std::string& where)
{
    require_object(j, where);
    ClassifierConfig c;
    c.in_channels = get_int(j, "in_channels", c.in_channels, 1, 4, where);
    c.height = get_int(j, "height", c.height, 8, 4096, where);
    c.width = get_int(j, "width", c.width, 8, 4096, where);
    c.classes = get_int(j, "classes", c.classes, 2, 100000, where);
    c.feature_dim = get_int(j, "feature_dim", c.feature_dim, 2, 8192, where);
    check_network_budget(parameter_count(c), where);
    return c;
}

std::int64_t parameter_count(const ClassifierConfig& c)
{
    // Batch norms hold weight, bias, running mean and variance (4 C) and a step count (1).
    const auto bn = [](std::int64_t ch) { return 4 * ch + 1; };
    return conv3_params(c.in_channels, 32) + bn(32) + conv3_params(32, 64) + bn(64) + conv3_params(64, 64) + bn(64) +
           linear_params(64 * std::int64_t{c.height / 4} * (c.width / 4), c.feature_dim) +
           linear_params(c.feature_dim, c.classes);
}

ClassifierNetImpl::ClassifierNetImpl(const ClassifierConfig& c) : config(c)
{
    conv1 = register_module("conv1", make_conv3(c.in_channels, 32));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(32));
    conv2 = register_module("conv2", make_conv3(32, 64));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(64));
    conv3 = register_module("conv3", make_conv3(64, 64));
    bn3 = register_module("bn3", torch::nn::BatchNorm2d(64));
    fc = register_module("fc", torch::nn::Linear(64 * (c.height / 4) * (c.width / 4), c.feature_dim));
    head = register_module("head", torch::nn::Linear(c.feature_dim, c.classes));
    dropout = register_module("dropout", torch::nn::Dropout(0.3));
}

ClassifierNetImpl::Output ClassifierNetImpl::forward(const torch::Tensor& x)
{
    torch::Tensor h = F::max_pool2d(torch::relu(bn1(conv1(x))), F::MaxPool2dFuncOptions(2));
    h = F::max_pool2d(torch::relu(bn2(conv2(h))), F::MaxPool2dFuncOptions(2));
    h = torch::relu(bn3(conv3(h)));
    Output o;
    o.features = torch::relu(fc(h.flatten(1)));
    o.logits = head(dropout(o.features));
    return o;
}

// ---------------------------------------------------------------- weights

namespace {

std::vector<std::pair<std::string, torch::Tensor>> named_state(torch::nn::Module& m)
{
    std::vector<std::pair<std::string, torch::Tensor>> all;
    for (const auto& p : m.named_parameters(true))
        all.emplace_back(p.key(), p.value());
    for (const auto& b : m.named_buffers(true))
        all.emplace_back(b.key(), b.value());
    return all;
}

std::string shape_of(const torch::Tensor& t)
{
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i)
        s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

} // namespace

void save_weights(torch::nn::Module& module, const std::filesystem::path& path)
{
    torch::serialize::OutputArchive archive;
    for (const auto& [name, t] : named_state(module))
        archive.write(name, t.detach().to(torch::kCPU), /*is_buffer=*/false);
    AtomicFile out(path); // a temporary file renamed over the target: never a torn weights file
    try {
        archive.save_to([&](const void* data, std::size_t n) {
            out.write(std::string_view(static_cast<const char*>(data), n));
            return n;
        });
    } catch (const c10::Error& e) {
        throw InputError(path.string() + ": cannot write weights file");
    }
    out.commit();
}

void load_weights(torch::nn::Module& module, const std::filesystem::path& path, const std::string& where)
{
    const std::string prefix = where + ": weights file " + path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw InputError(prefix + " is a directory, expected a file");
    if (!std::filesystem::exists(path, ec))
        throw InputError(prefix + " does not exist");
    if (!std::filesystem::is_regular_file(path, ec))
        throw InputError(prefix + " is not a regular file");
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path.string());
    } catch (const c10::Error&) {
        throw InputError(prefix + " is not a readable weights archive (corrupt or another format)");
    }
    std::set<std::string> keys;
    try {
        for (const auto& k : archive.keys())
            keys.insert(k);
    } catch (const c10::Error&) {
        throw InputError(prefix + " is not a readable weights archive (corrupt or another format)");
    }
    torch::NoGradGuard no_grad;
    const auto state = named_state(module);
    for (const auto& [name, target] : state) {
        torch::Tensor t;
        bool ok = false;
        try {
            ok = keys.count(name) != 0 && archive.try_read(name, t);
        } catch (const c10::Error&) {
            ok = false;
        }
        if (!ok || !t.defined())
            throw InputError(prefix + " does not fit the card's architecture: tensor '" + name +
                             "' is missing (weights made for another architecture?)");
        if (t.sizes() != target.sizes())
            throw InputError(prefix + " does not fit the card's architecture: tensor '" + name + "' has shape " +
                             shape_of(t) + ", the architecture expects " + shape_of(target));
        const_cast<torch::Tensor&>(target).copy_(t);
        keys.erase(name);
    }
    if (!keys.empty())
        throw InputError(prefix + " does not fit the card's architecture: it holds " + std::to_string(keys.size()) +
                         " tensors the architecture lacks, e.g. '" + *keys.begin() + "'");
}

void copy_weights(torch::nn::Module& from, torch::nn::Module& to)
{
    torch::NoGradGuard no_grad;
    const auto a = named_state(from);
    auto b = named_state(to);
    for (std::size_t i = 0; i < a.size(); ++i)
        b[i].second.copy_(a[i].second);
}

} // namespace noisetrail::nn
