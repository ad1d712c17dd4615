// Native network cards (kinds noisetrail-unet, noisetrail-mlp): weights saved
// then loaded through a card give exactly the network's outputs; weights that do
// not fit the card's architecture, and missing or corrupt files, are one clear
// InputError naming the card.
#include "test_util.hpp"

#include "../../core/src/nn/networks.hpp"
#include "noisetrail/errors.hpp"
#include "noisetrail/model.hpp"

#include <QtTest>

using namespace noisetrail;

namespace {

const char* kSchedule = R"({"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000})";

std::string unet_card(const QTemporaryDir& dir, const QString& name, const QByteArray& arch, const QByteArray& weights)
{
    return test::write_file(dir, name,
                            R"({"format": "noisetrail-model/1", "kind": "noisetrail-unet", "data_shape": [1, 12, 12],
                                "data_range": [-1, 1], "schedule": )" + QByteArray(kSchedule) +
                                R"(, "weights": ")" + weights + R"(", "architecture": )" + arch + "}");
}

const QByteArray kArch = R"({"base_channels": 8, "channel_mult": [1, 2], "time_dim": 32, "groups": 4})";

/// Random weights everywhere (the zero-initialised output layer included), so outputs are informative.
void randomise(torch::nn::Module& m)
{
    torch::NoGradGuard g;
    for (auto& p : m.parameters())
        p.copy_(0.2 * torch::randn_like(p));
}

void expect_error(const std::string& card, const QStringList& parts)
{
    try {
        Model::load(card);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        const QString msg = e.what();
        QVERIFY2(msg.contains(QString::fromStdString(card)), e.what());
        for (const auto& p : parts)
            QVERIFY2(msg.contains(p), e.what());
        QVERIFY2(!msg.contains('\n'), e.what());
    }
}

} // namespace

class TestNativeModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void unetSaveLoadIdentical()
    {
        QTemporaryDir dir;
        torch::manual_seed(11);
        nn::UNet net(nn::unet_config_from(nlohmann::json::parse(kArch.toStdString()), "test"));
        randomise(*net);
        net->eval();
        nn::save_weights(*net, dir.filePath("u.pt").toStdString());
        const auto model = Model::load(unet_card(dir, "u.json", kArch, "u.pt"));

        const torch::Tensor x = torch::randn({3, 1, 12, 12});
        const torch::Tensor xd = x.to(torch::kDouble).contiguous();
        const std::vector<double> xv(xd.data_ptr<double>(), xd.data_ptr<double>() + xd.numel());
        for (int t : {0, 250, 999}) {
            torch::Tensor ref;
            {
                torch::NoGradGuard g;
                ref = net->forward(x, torch::full({3}, t, torch::kLong)).to(torch::kDouble).contiguous();
            }
            const auto d = model->denoise(xv, 3, t);
            const std::vector<double> want(ref.data_ptr<double>(), ref.data_ptr<double>() + ref.numel());
            QCOMPARE(d.eps_hat, want);
        }
    }

    void mlpSaveLoadIdentical()
    {
        QTemporaryDir dir;
        torch::manual_seed(12);
        nn::MlpDenoiser net(nn::mlp_config_from(nlohmann::json::parse(R"({"hidden": 32, "blocks": 2})"), "test"));
        randomise(*net);
        nn::save_weights(*net, dir.filePath("m.pt").toStdString());
        const auto card = test::write_file(dir, "m.json",
                                           R"({"format": "noisetrail-model/1", "kind": "noisetrail-mlp", "data_shape": [2],
                                               "weights": "m.pt", "architecture": {"hidden": 32, "blocks": 2}})");
        const auto model = Model::load(card);
        const std::vector<double> xv{0.5, -1.0, 2.0, 0.25};
        const torch::Tensor x = torch::tensor(std::vector<float>{0.5f, -1.f, 2.f, 0.25f}).reshape({2, 2});
        torch::NoGradGuard g;
        const torch::Tensor ref = net->forward(x, torch::full({2}, 123, torch::kLong)).to(torch::kDouble).contiguous();
        const std::vector<double> want(ref.data_ptr<double>(), ref.data_ptr<double>() + ref.numel());
        QCOMPARE(model->denoise(xv, 2, 123).eps_hat, want);
    }

    void weightsThatDoNotFit()
    {
        QTemporaryDir dir;
        nn::UNet net(nn::unet_config_from(nlohmann::json::parse(kArch.toStdString()), "test"));
        nn::save_weights(*net, dir.filePath("u.pt").toStdString());
        // Wider network than the weights: a shape mismatch, named.
        expect_error(unet_card(dir, "wide.json", R"({"base_channels": 16, "channel_mult": [1, 2], "time_dim": 32})", "u.pt"),
                     {"does not fit", "has shape", "expects"});
        // Deeper network: a tensor the file lacks.
        expect_error(unet_card(dir, "deep.json", R"({"base_channels": 8, "channel_mult": [1, 2, 2], "time_dim": 32, "groups": 4})", "u.pt"),
                     {"does not fit", "missing"});
        // Shallower network: tensors the architecture lacks.
        expect_error(unet_card(dir, "shallow.json", R"({"base_channels": 8, "channel_mult": [1], "time_dim": 32, "groups": 4})", "u.pt"),
                     {"does not fit"});
        // MLP weights under a UNet card.
        nn::MlpDenoiser mlp(nn::MlpConfig{});
        nn::save_weights(*mlp, dir.filePath("m.pt").toStdString());
        expect_error(unet_card(dir, "mixed.json", kArch, "m.pt"), {"does not fit"});
    }

    void missingOrCorruptFiles()
    {
        QTemporaryDir dir;
        expect_error(unet_card(dir, "none.json", kArch, "absent.pt"), {"absent.pt", "does not exist"});
        test::write_file(dir, "junk.pt", "this is not a weights archive");
        expect_error(unet_card(dir, "junk.json", kArch, "junk.pt"), {"junk.pt", "not a readable weights archive"});
        const auto no_arch = test::write_file(dir, "noarch.json",
                                              R"({"format": "noisetrail-model/1", "kind": "noisetrail-unet",
                                                  "data_shape": [1, 12, 12], "weights": "u.pt"})");
        expect_error(no_arch, {"'architecture'"});
        expect_error(unet_card(dir, "badarch.json", R"({"base_channels": "many"})", "u.pt"), {"base_channels"});
    }

    /// The closed-form counts the memory budget is checked with are the networks' own.
    void parameterCountsMatchTheNetworks()
    {
        const auto count = [](torch::nn::Module& m) {
            std::int64_t n = 0;
            for (const auto& p : m.parameters())
                n += p.numel();
            for (const auto& b : m.buffers())
                n += b.numel();
            return n;
        };
        for (const char* arch : {R"({"base_channels": 8, "channel_mult": [1, 2], "time_dim": 32, "groups": 4})",
                                 R"({"in_channels": 3, "base_channels": 4, "channel_mult": [1, 3, 2], "time_dim": 8})",
                                 R"({"base_channels": 6, "channel_mult": [2], "time_dim": 16, "groups": 3})"}) {
            const nn::UNetConfig c = nn::unet_config_from(nlohmann::json::parse(arch), "test");
            nn::UNet net(c);
            QCOMPARE(nn::parameter_count(c), count(*net));
        }
        for (const nn::MlpConfig c : {nn::MlpConfig{}, nn::MlpConfig{3, 16, 1, 8}, nn::MlpConfig{5, 32, 4, 16}}) {
            nn::MlpDenoiser net(c);
            QCOMPARE(nn::parameter_count(c), count(*net));
        }
        for (const nn::ClassifierConfig c : {nn::ClassifierConfig{}, nn::ClassifierConfig{3, 16, 12, 7, 9}}) {
            nn::ClassifierNet net(c);
            QCOMPARE(nn::parameter_count(c), count(*net));
        }
    }

    /// A 1 KB card asking for a huge network is refused before anything is allocated
    /// (the audit saw 2.5-3.5 GB taken first), naming the card and the field.
    void hugeArchitectureIsOverTheMemoryBudget()
    {
        QTemporaryDir dir;
        const auto unet = unet_card(dir, "huge-unet.json",
                                    R"({"base_channels": 512, "channel_mult": [16, 16, 16, 16, 16], "time_dim": 2048})",
                                    "absent.pt");
        expect_error(unet, {"field 'architecture'", "parameters", "would need", "MiB", "memory budget", "--max-memory-mib"});
        const auto mlp = test::write_file(dir, "huge-mlp.json",
                                          R"({"format": "noisetrail-model/1", "kind": "noisetrail-mlp", "data_shape": [2],
                                              "weights": "absent.pt", "architecture": {"dim": 2, "hidden": 4096, "blocks": 32}})");
        expect_error(mlp, {"field 'architecture'", "would need", "memory budget"});
    }
};

QTEST_GUILESS_MAIN(TestNativeModels)
#include "tst_native_models.moc"
