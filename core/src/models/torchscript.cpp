// A user's TorchScript module as a denoiser (contract section 2, kind `torchscript`).
//
// Card field `file` (relative to the card) names a module called as model(x_t, t), with x_t
// float32 [B, *data_shape] and t int64 [B], returning the card's `prediction` quantity with
// the shape of x_t. Output dtype: float32, or float64 (accepted and used as is: no precision is
// lost); any other dtype (half, bfloat16, integers, bool, complex) is an error.
//
// Everything that can be checked before sampling is checked in the factory, by loading the
// module and calling it once on a probe batch (B = 2 zeros at t = T-1). Each problem is one
// InputError line "model card <path>: <problem>"; libtorch's multi-line messages (TorchScript
// tracebacks, C++ backtraces) are cut down to their final error line. Every later call is
// checked the same way; a problem there (a model that fails only at some t) is a
// std::runtime_error naming the card and t: the run failed. Non-finite outputs are left to
// run_sampler, which reports them as a RunError naming the step.
#include "denoiser.hpp"

#include "noisetrail/data_dirs.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/fingerprint.hpp"
#include "noisetrail/limits.hpp"
#include "noisetrail/model.hpp"

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace noisetrail::detail {

namespace {

[[noreturn]] void card_error(const ModelCard& card, const std::string& what)
{
    throw InputError("model card " + card.path.string() + ": " + what);
}

std::string trim(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

/// One line from a libtorch message: the final error of a TorchScript traceback, without the
/// C++ backtrace ("Exception raised from ..."), lines joined, at most ~300 characters.
std::string one_line(std::string msg)
{
    for (const char* marker : {"\nException raised from", "Exception raised from "}) {
        const auto cut = msg.find(marker);
        if (cut != std::string::npos)
            msg.resize(cut);
    }
    if (msg.find("Traceback of TorchScript") != std::string::npos) {
        // The error itself follows the last traceback frame, on a line "SomethingError: ...".
        std::istringstream in(msg);
        std::string line;
        std::size_t pos = 0, found = std::string::npos;
        while (std::getline(in, line)) {
            const auto colon = line.find(": ");
            if (colon != std::string::npos && colon > 0) {
                const std::string head = line.substr(0, colon); // e.g. "RuntimeError", "ValueError"
                if (head.find_first_of(" \t") == std::string::npos &&
                    (head.ends_with("Error") || head.ends_with("Exception")))
                    found = pos;
            }
            pos += line.size() + 1;
        }
        if (found != std::string::npos)
            msg = msg.substr(found);
    }
    if (msg.starts_with("builtins.")) // an exception raised in TorchScript code
        msg = msg.substr(9);
    if (msg.starts_with("RuntimeError: "))
        msg = msg.substr(14);
    std::string out;
    std::istringstream in(msg);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty())
            continue;
        if (!out.empty())
            out += "; ";
        out += line;
    }
    if (out.size() > 300)
        out = out.substr(0, 297) + "...";
    return out.empty() ? "unknown libtorch error" : out;
}

std::string error_text(const std::exception& e)
{
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e))
        return one_line(ce->what_without_backtrace());
    return one_line(e.what());
}

std::string shape_string(at::IntArrayRef s)
{
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

std::string dtype_name(at::ScalarType t)
{
    switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
    }
}

/// Little-endian integers of a zip record.
std::uint64_t le(const std::string& b, std::size_t at, int bytes)
{
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
}

/// What a TorchScript archive (a zip, PKWARE APPNOTE 6.3) holds once inflated: the sum of
/// the uncompressed sizes its central directory declares (zip64 sizes included). libtorch's
/// reader (miniz) allocates each entry by that size, so it bounds what loading can take.
/// nullopt when the file is not a zip we can read; libtorch then says what is wrong.
std::optional<double> zip_inflated_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!in || ec || size < 22)
        return std::nullopt;
    // The end-of-central-directory record: 22 bytes plus a comment of up to 65535, at the end.
    const std::uintmax_t tail_len = std::min<std::uintmax_t>(size, 22 + 65535 + 20);
    std::string tail(static_cast<std::size_t>(tail_len), '\0');
    in.seekg(static_cast<std::streamoff>(size - tail_len));
    if (!in.read(tail.data(), static_cast<std::streamsize>(tail_len)))
        return std::nullopt;
    std::size_t eocd = std::string::npos;
    for (std::size_t i = tail.size() - 22 + 1; i-- > 0;)
        if (le(tail, i, 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos)
        return std::nullopt;
    std::uint64_t entries = le(tail, eocd + 10, 2), cd_size = le(tail, eocd + 12, 4), cd_offset = le(tail, eocd + 16, 4);
    if ((entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) && eocd >= 20 &&
        le(tail, eocd - 20, 4) == 0x07064b50) {
        // zip64: the locator before the record points at the zip64 end-of-central-directory record.
        std::string z(56, '\0');
        in.seekg(static_cast<std::streamoff>(le(tail, eocd - 20 + 8, 8)));
        if (!in.read(z.data(), 56) || le(z, 0, 4) != 0x06064b50)
            return std::nullopt;
        entries = le(z, 32, 8);
        cd_size = le(z, 40, 8);
        cd_offset = le(z, 48, 8);
    }
    // Each entry's header is at least 46 bytes: a directory that cannot fit the file is a lie.
    if (cd_offset > size || cd_size > size - cd_offset || entries > cd_size / 46 + 1)
        return std::nullopt;
    std::string cd(static_cast<std::size_t>(cd_size), '\0');
    in.seekg(static_cast<std::streamoff>(cd_offset));
    if (!in.read(cd.data(), static_cast<std::streamsize>(cd_size)))
        return std::nullopt;
    double total = 0;
    std::size_t at = 0;
    for (std::uint64_t e = 0; e < entries; ++e) {
        if (at + 46 > cd.size() || le(cd, at, 4) != 0x02014b50)
            return std::nullopt;
        std::uint64_t inflated = le(cd, at + 24, 4);
        const std::size_t name_len = le(cd, at + 28, 2), extra_len = le(cd, at + 30, 2), comment_len = le(cd, at + 32, 2);
        const std::size_t extra = at + 46 + name_len;
        if (extra + extra_len + comment_len > cd.size())
            return std::nullopt;
        if (inflated == 0xffffffff) {
            // The zip64 extended information field (id 1) holds the real size first.
            for (std::size_t x = extra; x + 4 <= extra + extra_len;) {
                const std::size_t id = le(cd, x, 2), len = le(cd, x + 2, 2);
                if (id == 1 && len >= 8 && x + 4 + 8 <= extra + extra_len) {
                    inflated = le(cd, x + 4, 8);
                    break;
                }
                x += 4 + len;
            }
        }
        total += static_cast<double>(inflated);
        at = extra + extra_len + comment_len;
    }
    return total;
}

class TorchScriptDenoiser final : public Denoiser {
public:
    TorchScriptDenoiser(const ModelCard& card, std::string file, torch::jit::Module module)
        : card_(card), file_(std::move(file)), module_(std::move(module))
    {
    }

    at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const at::Tensor& c) override
    {
        c10::InferenceMode guard;
        const at::Tensor x = x_t.to(at::kFloat).contiguous();
        return call(x, t, false, c).to(x_t.device(), at::kDouble);
    }

    // Merging is measured per model family (run_set.cpp); a TorchScript module
    // is opaque, so merge where a GPU makes larger batches cheap.
    bool merging_pays(std::int64_t) const override { return on_gpu_; }
    void set_on_gpu(bool on_gpu) { on_gpu_ = on_gpu; }

    /// model(x, t) with t int64 [B] (contract section 2), checked; returns the output tensor as
    /// the model gave it. On the probe every problem is an InputError (before sampling: CLI exit 2);
    /// during a run it is a std::runtime_error naming t (a failed run: CLI exit 3).
    /// A conditional card's module is called as model(x_t, t, c), c int64 [B] with the
    /// null label len(classes) for the unconditional prediction (contract section 9).
    at::Tensor call(const at::Tensor& x, const at::Tensor& t, bool probe, const at::Tensor& c = {})
    {
        const at::Tensor tt = t.to(x.device(), at::kLong);
        const bool conditional = card_.is_conditional();
        const at::Tensor cc = !conditional ? at::Tensor()
                              : c.defined() ? c.to(x.device(), at::kLong)
                                            : at::full({x.size(0)}, card_.null_label(),
                                                       at::TensorOptions().dtype(at::kLong).device(x.device()));
        const auto when = [&] {
            const auto lo = t.min().item<std::int64_t>(), hi = t.max().item<std::int64_t>();
            const std::string ts = lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
            return probe ? "on a probe call (t = " + ts + ")" : "at t = " + ts;
        };
        const auto fail = [&](const std::string& what) {
            const std::string msg = "model card " + card_.path.string() + ": " + what;
            if (probe)
                throw InputError(msg);
            throw std::runtime_error(msg);
        };
        c10::IValue out;
        try {
            out = conditional ? module_.forward({x, tt, cc}) : module_.forward({x, tt});
        } catch (const std::exception& e) {
            fail("TorchScript model " + file_ + " failed " + when() + " on x_t float32 " + shape_string(x.sizes()) +
                 " and t int64 [" + std::to_string(x.size(0)) + "]" +
                 (conditional ? " and c int64 [" + std::to_string(x.size(0)) + "]" : std::string()) +
                 (probe ? " (wrong input rank or shape for data_shape " + shape_string(card_.data_shape) + "?)" : "") +
                 ": " + error_text(e));
        }
        if (!out.isTensor())
            fail("TorchScript model " + file_ + " returned " + out.tagKind() + " " + when() +
                 ", expected one tensor (the " + to_string(card_.prediction) + " prediction) of shape " +
                 shape_string(x.sizes()));
        at::Tensor y = out.toTensor();
        if (y.scalar_type() != at::kFloat && y.scalar_type() != at::kDouble)
            fail("TorchScript model " + file_ + " returned dtype " + dtype_name(y.scalar_type()) + " " + when() +
                 ", expected float32 (or float64)");
        if (y.sizes() != x.sizes())
            fail("TorchScript model " + file_ + " returned shape " + shape_string(y.sizes()) + " " + when() +
                 " for x_t of shape " + shape_string(x.sizes()) + ", expected the shape of x_t");
        return y;
    }

private:
    ModelCard card_;
    std::string file_; // as written in the card, for messages
    torch::jit::Module module_;
    bool on_gpu_ = false;
};

} // namespace

namespace {

std::string module_field(const ModelCard& card)
{
    const auto j = nlohmann::json::parse(card.json_text);
    if (!j.contains("file") || !j["file"].is_string() || j["file"].get<std::string>().empty())
        card_error(card, "field 'file' (the TorchScript module, relative to the card) is missing or not a string");
    return j["file"].get<std::string>();
}

} // namespace

std::filesystem::path torchscript_module(const ModelCard& card)
{
    return card.resolve(module_field(card));
}

void check_code_trust(const ModelCard& card, const CodeTrust& trust)
{
    const std::filesystem::path module = torchscript_module(card);
    // The module file itself decides (symlinks resolved): a bundled card naming a
    // file elsewhere is not bundled code, a card elsewhere naming a bundled file is.
    if (trust.all || in_bundled_models(module))
        return;
    const std::string fingerprint = content_fingerprint(card);
    if (std::find(trust.fingerprints.begin(), trust.fingerprints.end(), fingerprint) != trust.fingerprints.end())
        return;
    throw UntrustedCode("model card " + card.path.string() + ": TorchScript module " + module.string() +
                            " is code from outside the bundled models folder and is not trusted (a model file "
                            "runs with your permissions: it can read and write your files); if you trust its source, pass --trust-code "
                            "(noisetrail-cli) or answer the window's question",
                        card.path, module, fingerprint);
}

std::unique_ptr<Denoiser> make_torchscript(const ModelCard& card, const NoiseSchedule& schedule,
                                           const at::Device& device)
{
    const std::string file = module_field(card);
    const std::filesystem::path path = card.resolve(file);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        card_error(card, "TorchScript file " + path.string() + " does not exist");
    if (!std::filesystem::is_regular_file(path, ec))
        card_error(card, "TorchScript file " + path.string() + " is not a regular file");

    // A small archive may inflate to gigabytes (a zip bomb took 1.2 GB): its declared
    // contents must fit the memory budget before libtorch reads it.
    if (const auto inflated = zip_inflated_bytes(path))
        check_memory_budget("model card " + card.path.string() + ": TorchScript file " + path.string() +
                                " (its contents inflated)",
                            *inflated);

    torch::jit::Module module;
    {
        // Load outside inference mode so the module's tensors are ordinary ones; calls run in it.
        c10::InferenceMode off(false);
        try {
            module = torch::jit::load(path.string(), device);
        } catch (const std::exception& e) {
            const std::string why = error_text(e);
            // torch.save() of an eager model or a state dict is a zip without TorchScript code.
            const bool eager = why.find("constants.pkl") != std::string::npos;
            card_error(card, "TorchScript file " + path.string() + " is not a loadable TorchScript archive (" + why +
                                 ")" + (eager ? "; a torch.save() file? export with torch.jit.script(model).save(path)" : ""));
        }
        module.eval();
        for (auto p : module.parameters())
            p.set_requires_grad(false);
    }

    const auto forward = module.find_method("forward");
    if (!forward)
        card_error(card, "TorchScript module " + file + " has no forward method");
    {
        // model(x_t, t), or model(x_t, t, c) on a conditional card (contract section 9):
        // that many arguments after self, more only with defaults.
        const std::size_t want = card.is_conditional() ? 3 : 2;
        const auto& schema = forward->function().getSchema();
        const auto& args = schema.arguments();
        std::size_t total = 0, required = 0;
        std::string names;
        for (std::size_t i = 1; i < args.size(); ++i) {
            ++total;
            required += args[i].default_value() ? 0 : 1;
            names += (names.empty() ? "" : ", ") + args[i].name();
        }
        if (!schema.is_vararg() && (required > want || total < want))
            card_error(card, "TorchScript module " + file + ": forward takes " + std::to_string(total) +
                                 " argument(s) (" + names + "), expected " +
                                 (want == 3 ? "model(x_t, t, c) (the card names classes)" : "model(x_t, t)"));
    }

    auto denoiser = std::make_unique<TorchScriptDenoiser>(card, file, std::move(module));
    denoiser->set_on_gpu(device.is_cuda());
    {
        // Probe: a small batch of zeros at the noisiest step, checked like every later call.
        c10::InferenceMode guard;
        std::vector<std::int64_t> shape{2};
        shape.insert(shape.end(), card.data_shape.begin(), card.data_shape.end());
        const at::Tensor x = at::zeros(shape, at::TensorOptions().dtype(at::kFloat).device(device));
        denoiser->call(x, timesteps(2, schedule.train_steps() - 1), true);
    }
    return denoiser;
}

} // namespace noisetrail::detail
