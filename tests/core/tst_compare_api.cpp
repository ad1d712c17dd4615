// core's compare API (the grid behind `noisetrail-cli compare` and the GUI's
// Compare view): progress events, the cache round trip, cancellation and the
// cache-only lookups, on a tiny ring8 grid.
#include "test_util.hpp"

#include "noisetrail/compare.hpp"
#include "noisetrail/model.hpp"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <cmath>

#include <sys/stat.h>

using namespace noisetrail;
namespace fs = std::filesystem;

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

    void cache_travels_with_a_copy_and_notices_changed_content()
    {
        // The key is the card's content, not its path or times: a copy elsewhere (a
        // fresh clone) finds every cell; a changed card (same name) finds none and
        // says how many it could not use.
        QTemporaryDir dir;
        const compare::Options o = tiny(dir);
        const compare::Result first = compare::run_compare(*ring(), o);
        QCOMPARE(first.computed, 6);
        QTemporaryDir clone;
        const QByteArray text = [] {
            QFile f(QString::fromStdString(test::source_path("models/ring8.json")));
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        const auto copy = Model::load(test::write_file(clone, "ring8.json", text));
        const compare::Result found = compare::cached_compare(*copy, o);
        for (const auto& row : found.cells)
            for (const auto& c : row)
                QVERIFY(c.done && c.cached);
        QCOMPARE(found.stale, 0);
        QByteArray edited = text;
        edited.replace("\"stds\"", "\"description\": \"retrained\", \"stds\"");
        QVERIFY(edited != text);
        const auto changed = Model::load(test::write_file(clone, "changed.json", edited));
        QCOMPARE(changed->card().name, ring()->card().name);
        const compare::Result stale = compare::cached_compare(*changed, o);
        QCOMPARE(stale.stale, 6);
        for (const auto& row : stale.cells)
            for (const auto& c : row)
                QVERIFY(!c.done);
        const compare::Result recomputed = compare::run_compare(*changed, o);
        QCOMPARE(recomputed.computed, 6);
        QVERIFY(!recomputed.warnings.empty() && recomputed.warnings.back().find("recomputing") != std::string::npos);
    }

    void malformed_cells_are_skipped_with_a_warning()
    {
        QTemporaryDir dir;
        const auto model = ring();
        compare::Options o = tiny(dir);
        o.steps = {5};
        QCOMPARE(compare::run_compare(*model, o).computed, 3);
        // Damage the cache: one cell without metrics, one with a string where a number goes.
        QFile f(QString::fromStdString(o.cache_file.string()));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject cache = QJsonDocument::fromJson(f.readAll()).object();
        f.close();
        QJsonObject cells = cache["cells"].toObject();
        QCOMPARE(cells.size(), 3);
        QStringList keys = cells.keys();
        QJsonObject a = cells[keys[0]].toObject(), b = cells[keys[1]].toObject();
        a.remove("metrics");
        QJsonObject m = b["metrics"].toObject();
        m["vendi"] = "twelve";
        b["metrics"] = m;
        cells[keys[0]] = a;
        cells[keys[1]] = b;
        cache["cells"] = cells;
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QJsonDocument(cache).toJson());
        f.close();
        const compare::Result looked = compare::cached_compare(*model, o);
        int done = 0;
        for (const auto& row : looked.cells)
            done += row[0].done ? 1 : 0;
        QCOMPARE(done, 1);
        QCOMPARE(int(looked.warnings.size()), 2);
        for (const auto& w : looked.warnings)
            QVERIFY2(w.find("malformed") != std::string::npos, w.c_str());
        // Computing recomputes exactly the two skipped cells.
        QCOMPARE(compare::run_compare(*model, o).computed, 2);
    }

    void oversized_cache_is_not_read()
    {
        QTemporaryDir dir;
        compare::Options o = tiny(dir);
        {
            QFile f(QString::fromStdString(o.cache_file.string()));
            QVERIFY(f.open(QIODevice::WriteOnly));
            QVERIFY(f.resize(qint64(compare::kMaxCacheBytes) + 1)); // sparse: no real write
        }
        const compare::Result r = compare::cached_compare(*ring(), o);
        QCOMPARE(int(r.warnings.size()), 1);
        QVERIFY2(r.warnings[0].find("MiB") != std::string::npos, r.warnings[0].c_str());
    }

    /// Files that are not caches are a warning and a fresh start, never an error:
    /// a "format" that is not a string once escaped as a JSON type error; a FIFO
    /// would block the read forever.
    void not_a_cache_is_a_warning()
    {
        QTemporaryDir dir;
        compare::Options o = tiny(dir);
        const auto warning_of = [&](const char* text) {
            QFile f(QString::fromStdString(o.cache_file.string()));
            if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
                return std::string("cannot write");
            f.write(text);
            f.close();
            const compare::Result r = compare::cached_compare(*ring(), o);
            return r.warnings.size() == 1 ? r.warnings[0] : std::string("warnings: ") + std::to_string(r.warnings.size());
        };
        for (const char* text : {R"({"format": 1, "cells": {}})", R"({"format": null, "cells": {}})",
                                 R"({"format": "noisetrail-compare-cache/1", "cells": []})", "[1, 2]", "{"}) {
            const std::string w = warning_of(text);
            QVERIFY2(w.find(o.cache_file.string() + ": not a compare cache") != std::string::npos, (text + (" -> " + w)).c_str());
        }
        QVERIFY(fs::remove(o.cache_file));
        QVERIFY(::mkfifo(o.cache_file.c_str(), 0600) == 0);
        const compare::Result r = compare::cached_compare(*ring(), o);
        QCOMPARE(int(r.warnings.size()), 1);
        QVERIFY2(r.warnings[0].find("not a regular file") != std::string::npos, r.warnings[0].c_str());
    }

    void step_sets_and_committed_cache_rule()
    {
        QCOMPARE(compare::kQuickSteps, (std::vector<int>{10, 20}));
        QCOMPARE(compare::kFullSteps, (std::vector<int>{10, 20, 50, 100, 1000}));
        for (int s : compare::kQuickSteps)
            QVERIFY(std::find(compare::kFullSteps.begin(), compare::kFullSteps.end(), s) != compare::kFullSteps.end());
        // Every committed cache under docs/ belongs to a bundled card by the one rule.
        for (const char* card : {"models/mnist-unet.json", "models/ring8.json"}) {
            const auto c = compare::committed_cache(test::source_path(card));
            QVERIFY2(std::filesystem::exists(c), c.string().c_str());
        }
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
