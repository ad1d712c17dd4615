// What the window prepares for a model card on the worker: the target density
// through core's one mixture parser, and one clear message for a bad data folder.
#include "loaded_model.hpp"
#include "main_window.hpp"
#include "test_util.hpp"
#include "ui_test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/model_card.hpp"
#include "noisetrail/npy.hpp"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>

using namespace noisetrail;
using namespace noisetrail::ui;

class TestLoadedModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void singleStdIsBroadcast()
    {
        // Two equal components at (-1, 0) and (1, 0) with one std for both:
        // "stds": [0.15] means 0.15 for every component (contract, core's parser).
        QTemporaryDir dir;
        const auto path = noisetrail::test::write_file(
            dir, "two.json", noisetrail::test::mixture_card(R"({"weights": [1, 1], "means": [[-1, 0], [1, 0]], "stds": [0.15]})"));
        const ModelCard card = read_model_card(path);
        // 41 x 41 pixels over [-2.05, 2.05]^2: pixel centres at multiples of 0.1,
        // column c at x = -2 + 0.1 c, row r at y = 2 - 0.1 r.
        const QImage img = targetDensity(card, QRectF(-2.05, -2.05, 4.1, 4.1), 41);
        QCOMPARE(img.size(), QSize(41, 41));
        const auto at = [&](int c, int r) { return qGray(img.pixel(c, r)); };
        // Both means are the densest points (the image is sqrt(p / p_max) on 0..255).
        QVERIFY2(at(10, 20) >= 254 && at(30, 20) >= 254,
                 qPrintable(QString("%1 %2").arg(at(10, 20)).arg(at(30, 20))));
        // 0.3 = 2 std from a mean: p / p_max = exp(-2), shown as sqrt: exp(-1).
        const double want = 255.0 * std::exp(-1.0);
        QVERIFY2(std::abs(at(13, 20) - want) <= 1.5 && std::abs(at(27, 20) - want) <= 1.5,
                 qPrintable(QString("%1 %2 vs %3").arg(at(13, 20)).arg(at(27, 20)).arg(want)));
        // And the loaded model's mixture is the same one.
        const auto lm = loadModelAssets(QString::fromStdString(path));
        QVERIFY(lm->mixture);
        QCOMPARE(lm->mixture->stds, (std::vector<double>{0.15, 0.15}));
        QVERIFY(!lm->fingerprint.empty());
    }

    void emptyImageFileGivesOneMessage()
    {
        // An image card whose data/ folder holds an *images*.npy with no rows.
        QTemporaryDir dir;
        QStringList mean;
        for (int i = 0; i < 64; ++i)
            mean << "0.5";
        noisetrail::test::write_file(dir, "img.json",
                         noisetrail::test::mixture_card(QString(R"({"means": [[%1]], "stds": [0.1]})").arg(mean.join(',')).toUtf8(),
                                            "[1, 8, 8]"));
        QVERIFY(QDir(dir.path()).mkdir("data"));
        const float none = 0.f;
        write_npy(dir.filePath("data/empty_images.npy").toStdString(), {0, 1, 8, 8}, &none);
        try {
            loadModelAssets(dir.filePath("img.json"));
            QFAIL("an empty image file loaded");
        } catch (const InputError& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.contains("empty_images.npy") && msg.contains("holds no images") && msg.contains("[0, 1, 8, 8]"),
                     qPrintable(msg));
        }
        // In the window: one message naming the file; the previous model stays.
        auto w = ui::test::open_main_window(ui::test::kModels + "/ring8.json");
        QSignalSpy err(w.get(), &MainWindow::errorShown);
        w->loadModel(dir.filePath("img.json"));
        QTRY_COMPARE_WITH_TIMEOUT(err.size(), 1, 10000);
        QVERIFY(w->errorText().contains("empty_images.npy"));
        QVERIFY(QString::fromStdString(w->model()->card().name).startsWith("Ring of 8"));
    }
};

QTEST_MAIN(TestLoadedModel)
#include "tst_loaded_model.moc"
