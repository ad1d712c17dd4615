// core's compare API (the grid behind `noisetrail-cli compare` and the GUI's
// Compare view): progress events, the cache round trip, cancellation and the
// cache-only lookups, on a tiny ring8 grid.
#include "test_util.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/model.hpp"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>

using namespace noisetrail;

class TestCompareApi : public QObject {
    Q_OBJECT

    std::shared_ptr<Model> ring() { return Model::load(test::source_path("models/ring8.json"), "cpu"); }

    compare::Options tiny(const QTemporaryDir& dir)
    {
        compare::Options o;
        o.etas = {0.0, 1.0};
        o.steps = {5, 10};
        o.samples = 48;
        o.threads = 1;
        o.cache_file = dir.filePath("cache.json").toStdString();
        return o;
    }

private Q_SLOTS:
    void grid_progress_and_cache()
    {
        QTemporaryDir dir;
        const auto model = ring();
        const compare::Options o = tiny(dir);
        std::vector<compare::Progress::Event> events;
        int steps = 0;
        const compare::Result r = compare::run_compare(*model, o, [&](const compare::Progress& p) {
            events.push_back(p.event);
            steps += p.event == compare::Progress::Event::Step ? 1 : 0;
            QVERIFY(p.grid);
        });
        QCOMPARE(r.kind, compare::ReferenceKind::Mixture);
        QCOMPARE(r.components, 8);
        QCOMPARE(int(r.variants.size()), 3); // two etas + sigma-hat
        QCOMPARE(r.variants.back().key, std::string("sigma_hat"));
        QCOMPARE(r.computed, 6);
        QVERIFY(!r.cancelled);
        QCOMPARE(events.front(), compare::Progress::Event::Prepared);
        QCOMPARE(steps, 3 * (5 + 10)); // one event per sampling step (one chunk: batch = samples)
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t k = 0; k < 2; ++k) {
                QVERIFY(r.cells[i][k].done && !r.cells[i][k].cached);
                const double c = r.value(i, k, "components_covered");
                QVERIFY(c >= 0 && c <= 8);
                QVERIFY(std::isfinite(r.value(i, k, "vendi")));
            }
        // The reference row: exact draws cover the whole ring.
        QCOMPARE(r.truth_of("components_covered"), 8.0);

        // Again: everything from the cache, the same numbers.
        const compare::Result again = compare::run_compare(*model, o);
        QCOMPARE(again.computed, 0);
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t k = 0; k < 2; ++k) {
                QVERIFY(again.cells[i][k].cached);
                QCOMPARE(again.value(i, k, "mmd2"), r.value(i, k, "mmd2"));
            }
        // Cache-only lookups see the same cells without sampling.
        const compare::Result looked = compare::cached_compare(*model, o);
        QVERIFY(looked.cells[2][1].done);
        QCOMPARE(looked.value(2, 1, "vendi"), r.value(2, 1, "vendi"));
        QCOMPARE(compare::cached_sample_counts(*model, o), (std::map<int, int>{{48, 6}}));

        // A read-only cache serves cells and is never written.
        compare::Options ro = o;
        ro.read_only_caches = {o.cache_file};
        ro.cache_file = dir.filePath("other.json").toStdString();
        ro.steps = {5, 10, 20};
        const compare::Result wider = compare::run_compare(*model, ro);
        QCOMPARE(wider.computed, 3);
        QCOMPARE(compare::cached_sample_counts(*model, o), (std::map<int, int>{{48, 6}}));
    }

    void cancel_stops_within_a_cell()
    {
        QTemporaryDir dir;
        const auto model = ring();
        compare::Options o = tiny(dir);
        o.steps = {5, 200};
        std::atomic<bool> cancel{false};
        const compare::Result r = compare::run_compare(
            *model, o,
            [&](const compare::Progress& p) {
                if (p.event == compare::Progress::Event::Step && p.steps == 200 && p.done == 10)
                    cancel.store(true);
            },
            &cancel);
        QVERIFY(r.cancelled);
        QCOMPARE(r.computed, 3); // the S = 5 cells finished (cheap cells first)
        for (std::size_t i = 0; i < 3; ++i)
            QVERIFY(!r.cells[i][1].done);
        QCOMPARE(compare::cached_sample_counts(*model, o), (std::map<int, int>{{48, 3}}));
    }
};

QTEST_GUILESS_MAIN(TestCompareApi)
#include "tst_compare_api.moc"
