// Lessons (docs/LESSONS.md): the reader and the writer agree, every hostile file
// is one error naming the file and the field, and the bundled lesson's steps are
// runs the bundled cards accept.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/lesson.hpp"
#include "noisetrail/run_recipe.hpp"

#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <functional>

using namespace noisetrail;
namespace fs = std::filesystem;

namespace {

/// A valid lesson of two steps; `replace` swaps one piece of its text for another.
QByteArray lessonText(const QByteArray& from = {}, const QByteArray& to = {})
{
    QByteArray text = R"({
  "format": "noisetrail-lesson/1",
  "title": "Two steps",
  "steps": [
    {"title": "DDPM", "caption": "**One** step", "recipe": {"model": "MODELS/ring8.json", "seed": 3, "batch": 64,
      "panels": [{"sampler": "ddpm", "steps": 100}]},
     "show": {"field": "x0_hat", "tab": "forward", "presentation": true, "cursor": 500}},
    {"title": "DDIM", "recipe": {"model": "MODELS/ring8.json", "pacing": "realtime",
      "panels": [{"sampler": "ddim", "steps": 20, "eta": 0.5}, {"sampler": "heun", "steps": 5}]},
     "show": {"play": {"from": 999, "to": "final", "speed": 100}}}
  ]
})";
    if (!from.isEmpty()) {
        const qsizetype at = text.indexOf(from);
        if (at < 0)
            qFatal("lessonText: '%s' is not in the lesson", from.constData());
        text.replace(at, from.size(), to);
    }
    text.replace("MODELS", QByteArray::fromStdString(test::source_path("models")));
    return text;
}

QString errorOf(const std::string& text, const fs::path& file = "/lessons/l.lesson.json")
{
    try {
        parse_lesson(text, file);
    } catch (const InputError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestLesson : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsWhatTheFileSays()
    {
        const Lesson l = parse_lesson(lessonText().toStdString(), "/lessons/l.lesson.json");
        QCOMPARE(l.title, std::string("Two steps"));
        QCOMPARE(l.steps.size(), std::size_t(2));
        const LessonStep& a = l.steps[0];
        QCOMPARE(a.caption, std::string("**One** step"));
        QCOMPARE(a.recipe.model, fs::path(test::source_path("models")) / "ring8.json");
        QCOMPARE(a.recipe.seed, std::uint64_t(3));
        QCOMPARE(a.recipe.panels.at(0).sampler.steps, 100);
        QVERIFY(a.show.field == Field::X0Hat);
        QVERIFY(a.show.tab == LessonTab::Forward);
        QVERIFY(a.show.presentation == true);
        QVERIFY(a.show.cursor == 500);
        QVERIFY(!a.show.play);
        const LessonStep& b = l.steps[1];
        QVERIFY(b.caption.empty());
        QVERIFY(b.recipe.pacing == Pacing::Realtime);
        QCOMPARE(b.recipe.panels.size(), std::size_t(2));
        QCOMPARE(b.recipe.panels[0].sampler.eta, 0.5);
        // Unset keys leave the window as it is.
        QVERIFY(!b.show.field && !b.show.tab && !b.show.presentation && !b.show.cursor);
        QVERIFY(b.show.play && b.show.play->from == 999 && b.show.play->to == kLessonFinal && b.show.play->speed == 100);
    }

    void roundTripsThroughTheWriter()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "sub" / "l.lesson.json";
        fs::create_directories(file.parent_path());
        const Lesson l = parse_lesson(lessonText().toStdString(), file);
        write_lesson(file, l);
        QVERIFY(read_lesson(file) == l);
        QVERIFY(parse_lesson(lesson_text(l, file), file) == l);
    }

    void hostileFilesAreOneErrorNamingTheField_data()
    {
        QTest::addColumn<QByteArray>("from");
        QTest::addColumn<QByteArray>("to");
        QTest::addColumn<QString>("names");
        QTest::newRow("newer format") << QByteArray("noisetrail-lesson/1") << QByteArray("noisetrail-lesson/2")
                                      << "field 'format' is 'noisetrail-lesson/2'";
        QTest::newRow("no format") << QByteArray(R"("format": "noisetrail-lesson/1",)") << QByteArray()
                                   << "field 'format' is missing";
        QTest::newRow("no steps") << QByteArray(R"("steps": [)") << QByteArray(R"("nosteps": [)")
                                  << "field 'nosteps' is not a known key";
        QTest::newRow("bad recipe") << QByteArray(R"("eta": 0.5)") << QByteArray(R"("eta": -1)")
                                    << "field 'steps[1].recipe.panels[0].eta' must be >= 0";
        QTest::newRow("recipe missing model") << QByteArray(R"("model": "MODELS/ring8.json", "pacing")")
                                              << QByteArray(R"("pacing")")
                                              << "field 'steps[1].recipe.model' is missing";
        QTest::newRow("unknown sampler") << QByteArray(R"("heun")") << QByteArray(R"("magic")")
                                         << "field 'steps[1].recipe.panels[1].sampler' unknown sampler 'magic'";
        QTest::newRow("title not a string") << QByteArray(R"("title": "DDPM")") << QByteArray(R"("title": 7)")
                                            << "field 'steps[0].title' must be a string";
        QTest::newRow("two-line title") << QByteArray(R"("title": "DDPM")") << QByteArray(R"("title": "a\nb")")
                                        << "field 'steps[0].title' must be one line of text";
        QTest::newRow("no step title") << QByteArray(R"("title": "DDPM", )") << QByteArray()
                                       << "field 'steps[0].title' is missing";
        QTest::newRow("caption too long") << QByteArray(R"("**One** step")")
                                          << "\"" + QByteArray(int(kMaxLessonCaptionBytes) + 1, 'a') + "\""
                                          << "field 'steps[0].caption' is 4001 bytes long, more than the 4000";
        QTest::newRow("caption not a string") << QByteArray(R"("**One** step")") << QByteArray("[\"a\"]")
                                              << "field 'steps[0].caption' must be a string";
        QTest::newRow("bad field") << QByteArray(R"("x0_hat")") << QByteArray(R"("x_1")")
                                   << "field 'steps[0].show.field' must be x_t, x0_hat or eps_hat, got 'x_1'";
        QTest::newRow("bad tab") << QByteArray(R"("forward")") << QByteArray(R"("backward")")
                                 << "field 'steps[0].show.tab' must be statistics, forward, reverse_step or none";
        QTest::newRow("presentation a string") << QByteArray("true") << QByteArray("\"yes\"")
                                               << "field 'steps[0].show.presentation' must be true or false";
        QTest::newRow("cursor a float") << QByteArray("500}") << QByteArray("0.5}")
                                        << "field 'steps[0].show.cursor' must be a noise level t";
        QTest::newRow("cursor below final") << QByteArray("500}") << QByteArray("-2}")
                                            << "field 'steps[0].show.cursor' must be in -1..1000000";
        QTest::newRow("play backwards") << QByteArray(R"("from": 999, "to": "final")")
                                        << QByteArray(R"("from": 10, "to": 500)")
                                        << "field 'steps[1].show.play' must play towards less noise";
        QTest::newRow("play speed zero") << QByteArray(R"("speed": 100)") << QByteArray(R"("speed": 0)")
                                         << "field 'steps[1].show.play.speed' must be an integer in 1..2000";
        QTest::newRow("play without to") << QByteArray(R"(, "to": "final")") << QByteArray()
                                         << "field 'steps[1].show.play' needs both 'from' and 'to'";
        QTest::newRow("cursor and play") << QByteArray(R"("cursor": 500)")
                                         << QByteArray(R"("cursor": 500, "play": {"from": 9, "to": 1})")
                                         << "field 'steps[0].show' has both 'cursor' and 'play'";
        QTest::newRow("unknown show key") << QByteArray(R"("tab": "forward")") << QByteArray(R"("zoom": 2)")
                                          << "field 'steps[0].show.zoom' is not a known key";
        QTest::newRow("step not an object") << QByteArray(R"("steps": [)") << QByteArray(R"("steps": [1, )")
                                            << "field 'steps[0]' must be an object";
        QTest::newRow("not UTF-8") << QByteArray("Two steps") << QByteArray("Two \xff\xfe steps")
                                   << "malformed JSON at field 'title'";
        QTest::newRow("NUL in caption") << QByteArray("**One** step") << QByteArray("a\\u0000b")
                                        << "field 'steps[0].caption' contains a NUL character";
    }

    void hostileFilesAreOneErrorNamingTheField()
    {
        QFETCH(QByteArray, from);
        QFETCH(QByteArray, to);
        QFETCH(QString, names);
        const QString e = errorOf(lessonText(from, to).toStdString());
        QVERIFY2(e.startsWith("lesson /lessons/l.lesson.json: "), qPrintable(e));
        QVERIFY2(e.contains(names), qPrintable(e));
        QVERIFY2(!e.contains('\n'), qPrintable(e));
    }

    void tooDeepTooLargeAndNotJson()
    {
        // Nesting beyond the JSON reader's limit, inside a step.
        const std::string deep = "{\"format\": \"noisetrail-lesson/1\", \"title\": \"t\", \"steps\": [" +
                                 std::string(100, '[') + std::string(100, ']') + "]}";
        QVERIFY2(errorOf(deep).contains("malformed JSON"), qPrintable(errorOf(deep)));
        QVERIFY(errorOf("[1, 2]").contains("must hold a JSON object"));
        QVERIFY(errorOf("{\"format\": ").contains("malformed JSON"));
        const QString steps = errorOf(R"({"format": "noisetrail-lesson/1", "title": "t", "steps": []})");
        QVERIFY2(steps.contains("field 'steps' must be a list of 1..200 steps"), qPrintable(steps));
        const QString notRecipe = errorOf(
            R"({"format": "noisetrail-lesson/1", "title": "t", "steps": [{"title": "s", "recipe": 3}]})");
        QVERIFY2(notRecipe.contains("field 'steps[0].recipe' must be a run recipe object"), qPrintable(notRecipe));
        const QString missing = errorOf(R"({"format": "noisetrail-lesson/1", "title": "t"})");
        QVERIFY2(missing.contains("field 'steps' is missing"), qPrintable(missing));
        // Over the file limit: refused before it is read.
        QTemporaryDir dir;
        const std::string big = test::write_file(dir, "big.lesson.json", QByteArray(int(kMaxLessonBytes) + 1, ' '));
        try {
            read_lesson(big);
            QFAIL("an oversized lesson was read");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("big.lesson.json"), e.what());
        }
        try {
            read_lesson(fs::path(dir.path().toStdString()) / "none.lesson.json");
            QFAIL("a missing lesson was read");
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("none.lesson.json"), e.what());
        }
    }

    void bundledLessonRunsOnTheBundledCards()
    {
        const fs::path file = fs::path(test::source_path("models")) / "lessons" / "ddpm-vs-ddim.lesson.json";
        const Lesson l = read_lesson(file);
        QCOMPARE(l.title, std::string("DDPM vs DDIM in 20 minutes"));
        QVERIFY(l.steps.size() >= 7);
        for (std::size_t i = 0; i < l.steps.size(); ++i) {
            const LessonStep& s = l.steps[i];
            QVERIFY2(!s.caption.empty() && !s.title.empty(), s.title.c_str());
            QVERIFY2(s.recipe.panels.size() <= 4, s.title.c_str()); // the window's panels
            // Every card is bundled, and the run set validates each panel against its card.
            QCOMPARE(s.recipe.model.parent_path(), fs::path(test::source_path("models")));
            try {
                RunSetRecipe r = s.recipe;
                r.batch = 2; // validation, not sampling: keep the allocation small
                make_run_set(r);
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QString("step %1 (%2): %3").arg(i + 1).arg(s.title.c_str(), e.what())));
            }
        }
        // The argument's order: DDPM alone, then DDIM beside it from the same x_T, then eta,
        // then the solvers beyond.
        const auto firstStep = [&](const std::function<bool(const std::vector<PanelRecipe>&)>& has) {
            for (std::size_t i = 0; i < l.steps.size(); ++i)
                if (has(l.steps[i].recipe.panels))
                    return int(i);
            return int(l.steps.size());
        };
        const auto any = [](const std::vector<PanelRecipe>& ps, const std::function<bool(const SamplerConfig&)>& f) {
            return std::any_of(ps.begin(), ps.end(), [&](const PanelRecipe& p) { return f(p.sampler); });
        };
        const int ddpmAlone = firstStep([&](const auto& ps) {
            return !any(ps, [](const SamplerConfig& c) { return c.sampler != "ddpm"; });
        });
        const int sideBySide = firstStep([&](const auto& ps) {
            return any(ps, [](const SamplerConfig& c) { return c.sampler == "ddpm"; }) &&
                   any(ps, [](const SamplerConfig& c) { return c.sampler == "ddim"; });
        });
        const int eta = firstStep([&](const auto& ps) {
            return any(ps, [](const SamplerConfig& c) { return c.sampler == "ddim" && c.eta > 0; });
        });
        const int beyond = firstStep([&](const auto& ps) {
            return any(ps, [](const SamplerConfig& c) { return c.sampler == "heun" || c.sampler == "dpmpp2m"; });
        });
        QVERIFY(ddpmAlone < sideBySide);
        QVERIFY(sideBySide < eta);
        QVERIFY(eta < beyond);
        QVERIFY(beyond < int(l.steps.size()));
        // The writer's text of it reads back equal (a teacher may save it under another name).
        QTemporaryDir dir;
        const fs::path copy = fs::path(dir.path().toStdString()) / "copy.lesson.json";
        write_lesson(copy, l);
        QVERIFY(read_lesson(copy) == l);
    }
};

QTEST_GUILESS_MAIN(TestLesson)
#include "tst_lesson.moc"
