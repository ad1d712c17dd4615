// .npy reading and writing, checked against files numpy's format defines byte by byte.
#include "test_util.hpp"

#include "noisetrail/errors.hpp"
#include "noisetrail/npy.hpp"

#include <QtTest>

#include <cstring>

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

QTEST_GUILESS_MAIN(TestNpy)
#include "tst_npy.moc"
