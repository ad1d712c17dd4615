// The bounded file / JSON helpers behind cards, training configs and checkpoints:
// every failure one InputError naming the file and the field.
#include "test_util.hpp"

#include "json_file.hpp"
#include "noisetrail/errors.hpp"

#include <QtTest>

using namespace noisetrail;

namespace {

/// The message of the InputError `f` throws, or "" if it throws none.
template <typename F>
QString error_of(F f)
{
    try {
        f();
    } catch (const InputError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

} // namespace

class TestJsonFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parse_errors_name_the_field_data();
    void parse_errors_name_the_field();
    void files_must_be_regular_and_small();
    void integers_range_checked_before_narrowing();
};

void TestJsonFile::parse_errors_name_the_field_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expect");
    QTest::newRow("overflow") << QByteArray(R"({"schedule": {"kind": "linear", "beta_end": 1e400}})")
                              << "field 'schedule.beta_end'";
    QTest::newRow("overflow in an array") << QByteArray(R"({"mixture": {"means": [[0, -1e999]]}})")
                                          << "field 'mixture.means'";
    QTest::newRow("after a closed object") << QByteArray(R"({"a": {"b": 1}, "c": 1e400})") << "field 'c'";
    QTest::newRow("syntax") << QByteArray(R"({"name": "x",})") << "malformed JSON";
    QTest::newRow("too deep") << QByteArray(100, '[') + QByteArray(100, ']') << "nested deeper than 64";
    QTest::newRow("empty") << QByteArray() << "malformed JSON";
}

void TestJsonFile::parse_errors_name_the_field()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, expect);
    const QString e = error_of([&] { detail::parse_json(text.toStdString(), "card c.json"); });
    QVERIFY2(e.startsWith("card c.json: "), qPrintable(e));
    QVERIFY2(e.contains(expect), qPrintable(e));
    QVERIFY2(!e.contains("json.exception"), qPrintable(e)); // nlohmann's tag is cut
    QVERIFY2(!e.contains('\n'), qPrintable(e));
}

void TestJsonFile::files_must_be_regular_and_small()
{
    QTemporaryDir dir;
    const std::string small = test::write_file(dir, "small.json", R"({"a": 1})");
    QCOMPARE(detail::read_json_file(small, "x")["a"].get<int>(), 1);
    QVERIFY(error_of([&] { detail::read_regular_file(small, "config small.json", 4); }).contains("limit"));
    QVERIFY(error_of([&] { detail::read_regular_file(dir.path().toStdString(), "config d"); }).contains("directory"));
    QVERIFY(error_of([&] { detail::read_regular_file("/dev/zero", "config z"); }).contains("regular file"));
    QVERIFY(error_of([&] { detail::read_regular_file(dir.filePath("none").toStdString(), "config n"); })
                .contains("does not exist"));
}

void TestJsonFile::integers_range_checked_before_narrowing()
{
    using nlohmann::json;
    QCOMPARE(detail::json_integer(json(12), "f", "k", 0, 100), 12LL);
    QCOMPARE(detail::json_integer(json(2e4), "f", "k", 0, 100000), 20000LL); // an integral float
    for (const json& bad : {json(4294967297LL), json(1e12), json(-1), json(2.5), json("3"), json(nullptr),
                            json(18446744073709551615ULL), json(1e300)}) {
        const QString e = error_of([&] { detail::json_integer(bad, "checkpoint s.json", "step", 0, 2147483647); });
        QVERIFY2(e == "checkpoint s.json: field 'step' must be an integer in 0..2147483647",
                 qPrintable(QString::fromStdString(bad.dump()) + " -> " + e));
    }
    QVERIFY(error_of([&] { detail::json_number(json("x"), "f", "lr"); }).contains("field 'lr' must be a finite number"));
}

QTEST_GUILESS_MAIN(TestJsonFile)
#include "tst_json_file.moc"
