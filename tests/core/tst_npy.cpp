// .npy reading and writing, checked against files numpy's format defines byte by byte.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <sstream>

using namespace noisetrail;

namespace {

/// A version 1.0 .npy file assembled by hand from the format description.
QByteArray npy_bytes(const QByteArray& descr, const QByteArray& shape, const QByteArray& payload,
                     const char* fortran = "False")
{
    QByteArray header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    QByteArray out("\x93NUMPY\x01\x00", 8);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + payload;
}

/// A version 1.0 file with an arbitrary header text (padded as numpy pads).
QByteArray npy_header(QByteArray header, const QByteArray& payload = QByteArray(64, 0))
{
    while ((10 + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    QByteArray out("\x93NUMPY\x01\x00", 8);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + payload;
}

template <typename T>
QByteArray raw(std::initializer_list<T> v)
{
    return QByteArray(reinterpret_cast<const char*>(std::data(v)), static_cast<int>(v.size() * sizeof(T)));
}

} // namespace

class TestNpy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void reads_float32();
    void converts_float64_and_int32();
    void round_trip();
    void rejects_data();
    void rejects();
    void header_forms_numpy_writes();
    void header_cap();
    void counts_checked_before_allocating();
    void size_limit();
    void numel_overflow_throws();
};

void TestNpy::reads_float32()
{
    QTemporaryDir dir;
    const auto p = test::write_file(dir, "a.npy", npy_bytes("<f4", "(2, 3)", raw<float>({1, 2, 3, 4, 5, 6.5f})));
    const NpyArray a = read_npy(p);
    QCOMPARE(a.shape, (std::vector<std::int64_t>{2, 3}));
    QCOMPARE(a.f32, (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
}

void TestNpy::converts_float64_and_int32()
{
    QTemporaryDir dir;
    const NpyArray a = read_npy(test::write_file(dir, "d.npy", npy_bytes("<f8", "(3,)", raw<double>({0.5, -2, 1e-3}))));
    QCOMPARE(a.dtype, NpyArray::DType::Float32);
    QCOMPARE(a.f32, (std::vector<float>{0.5f, -2.f, 1e-3f}));
    const NpyArray b = read_npy(test::write_file(dir, "i.npy", npy_bytes("<i4", "(2,)", raw<std::int32_t>({7, -9}))));
    QCOMPARE(b.dtype, NpyArray::DType::Int64);
    QCOMPARE(b.i64, (std::vector<std::int64_t>{7, -9}));
}

void TestNpy::round_trip()
{
    QTemporaryDir dir;
    const std::vector<float> f{1.f, -0.f, 3.25f, 1e30f};
    write_npy(dir.filePath("f.npy").toStdString(), {2, 1, 2}, f.data());
    QCOMPARE(read_npy(dir.filePath("f.npy").toStdString()).f32, f);
    const std::vector<std::int64_t> i{5, 999, -1};
    write_npy(dir.filePath("i.npy").toStdString(), {3}, i.data());
    const NpyArray b = read_npy(dir.filePath("i.npy").toStdString());
    QCOMPARE(b.i64, i);
    QCOMPARE(b.shape, (std::vector<std::int64_t>{3}));
    // The written header is what numpy itself writes for this array.
    QFile file(dir.filePath("i.npy"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.contains("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"));
    QCOMPARE((bytes.size() - 24) % 64, 0);
}

void TestNpy::rejects_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expect");
    QTest::newRow("complex") << npy_bytes("<c8", "(2,)", QByteArray(16, 0)) << "unsupported dtype '<c8'";
    QTest::newRow("int8") << npy_bytes("|i1", "(2,)", QByteArray(2, 0)) << "unsupported dtype '|i1'";
    QTest::newRow("fortran") << npy_bytes("<f4", "(2, 2)", QByteArray(16, 0), "True") << "Fortran";
    QTest::newRow("truncated data") << npy_bytes("<f4", "(4, 2)", QByteArray(20, 0)) << "truncated";
    QTest::newRow("truncated header") << QByteArray("\x93NUMPY\x01\x00\x76\x00{'descr'", 17) << "truncated";
    QTest::newRow("not npy") << QByteArray("hello world, this is text") << "bad magic";
    // The header parser (issue 9): malformed dictionaries are named, never guessed at.
    QTest::newRow("no shape") << npy_header("{'descr': '<f4', 'fortran_order': False, }") << "required";
    QTest::newRow("duplicate key") << npy_header("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }")
                                   << "twice";
    QTest::newRow("unknown key") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}")
                                 << "unexpected key 'x'";
    QTest::newRow("negative dim") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }")
                                  << "negative";
    QTest::newRow("dim too big") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")
                                 << "64 bits";
    QTest::newRow("shape not a tuple") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }")
                                       << "malformed";
    QTest::newRow("unclosed tuple") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, }")
                                    << "malformed";
    QTest::newRow("junk after dict") << npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk")
                                     << "after the closing brace";
    QTest::newRow("fortran not bool") << npy_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }")
                                      << "True or False";
    QTest::newRow("big-endian") << npy_bytes(">f4", "(1,)", QByteArray(4, 0)) << "unsupported dtype '>f4'";
    QTest::newRow("version 4") << QByteArray("\x93NUMPY\x04\x00\x10\x00", 10) + QByteArray(16, ' ') << "version 4";
}

void TestNpy::rejects()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expect);
    QTemporaryDir dir;
    const auto p = test::write_file(dir, "bad.npy", bytes);
    try {
        read_npy(p);
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        QVERIFY2(QString(e.what()).contains(expect), e.what());
        QVERIFY2(QString(e.what()).contains("bad.npy"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(InputError, read_npy(dir.filePath("missing.npy").toStdString()));
}

void TestNpy::header_forms_numpy_writes()
{
    // numpy.lib.format allows either quote, no trailing comma, any key order,
    // a scalar shape () and (Python 2) long integers written 3L.
    QTemporaryDir dir;
    const auto read = [&](const QByteArray& header, const QByteArray& payload) {
        return read_npy(test::write_file(dir, "h.npy", npy_header(header, payload)));
    };
    const NpyArray a = read(R"({"shape": (2L, 1), "fortran_order": False, "descr": "<f4"})", raw<float>({1, 2}));
    QCOMPARE(a.shape, (std::vector<std::int64_t>{2, 1}));
    QCOMPARE(a.f32, (std::vector<float>{1, 2}));
    const NpyArray s = read("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", raw<std::int64_t>({42}));
    QCOMPARE(s.shape, std::vector<std::int64_t>{});
    QCOMPARE(s.i64, std::vector<std::int64_t>{42});
    const NpyArray e = read("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", {});
    QCOMPARE(e.numel(), std::int64_t{0});
    QVERIFY(e.f32.empty());
    // float64 beyond float32's range becomes +-inf, as numpy's astype(float32) does.
    const NpyArray d = read("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", raw<double>({1e300, -1e300}));
    QVERIFY(std::isinf(d.f32[0]) && d.f32[0] > 0);
    QVERIFY(std::isinf(d.f32[1]) && d.f32[1] < 0);
}

void TestNpy::header_cap()
{
    // numpy itself refuses headers over 10000 bytes (max_header_size); so do we,
    // before reading them (a 30 KB header once overflowed the stack in std::regex).
    QTemporaryDir dir;
    QByteArray header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
    const QByteArray ok = npy_header(header + QByteArray(9000, ' '), QByteArray(4, 0));
    QCOMPARE(read_npy(test::write_file(dir, "ok.npy", ok)).f32.size(), std::size_t{1});
    const QByteArray text = npy_header(header + QByteArray(30000, ' '), QByteArray(4, 0));
    try {
        read_npy(test::write_file(dir, "long.npy", text));
        QFAIL("expected an InputError");
    } catch (const InputError& e) {
        QVERIFY2(QString(e.what()).contains("long.npy") && QString(e.what()).contains("header"), e.what());
    }
}

void TestNpy::counts_checked_before_allocating()
{
    // A few bytes declaring gigabytes, or element counts that wrap int64, are
    // refused from the header alone: the stream below holds only the header.
    const std::vector<std::pair<QByteArray, QString>> cases{
        {"(500000000, 2)", "truncated"},                  // 4 GB declared, 64 bytes present
        {"(1152921504606846976, 2, 1, 28, 28)", "64 bits"}, // wraps the element count
        {"(4611686018427387904, 4, 1, 28, 28)", "64 bits"}, // wraps to exactly 0
        {"(2305843009213693952,)", "too many"},             // count fits, bytes (x8) do not
    };
    for (const auto& [shape, expect] : cases) {
        const QByteArray bytes = npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }");
        std::istringstream in(bytes.toStdString());
        try {
            read_npy(in, static_cast<std::uint64_t>(bytes.size()), "lying.npy");
            QFAIL(qPrintable("accepted shape " + shape));
        } catch (const InputError& e) {
            QVERIFY2(QString(e.what()).contains("lying.npy") && QString(e.what()).contains(expect), e.what());
        }
    }
}

void TestNpy::size_limit()
{
    // The allocation limit applies to the data as held (float32 / int64).
    const QByteArray bytes = npy_bytes("<f4", "(64, 4)", QByteArray(64 * 4 * 4, 0));
    const std::uint64_t before = npy_size_limit();
    set_npy_size_limit(1000);
    std::istringstream in(bytes.toStdString());
    QVERIFY_THROWS_EXCEPTION(InputError, read_npy(in, static_cast<std::uint64_t>(bytes.size()), "big.npy"));
    set_npy_size_limit(1024);
    std::istringstream again(bytes.toStdString());
    QCOMPARE(read_npy(again, static_cast<std::uint64_t>(bytes.size()), "big.npy").f32.size(), std::size_t{256});
    set_npy_size_limit(before);
    QCOMPARE(before, std::uint64_t{2} << 30); // the documented default: 2 GiB
}

void TestNpy::numel_overflow_throws()
{
    NpyArray a;
    a.shape = {std::int64_t{1} << 40, std::int64_t{1} << 40};
    QVERIFY_THROWS_EXCEPTION(InputError, a.numel());
    a.shape = {3, 0, std::int64_t{1} << 62};
    QCOMPARE(a.numel(), std::int64_t{0});
}

QTEST_GUILESS_MAIN(TestNpy)
#include "tst_npy.moc"
