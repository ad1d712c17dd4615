// SHA-256 against the FIPS 180-4 / NIST example vectors; content fingerprints
// depend on bytes only (not on where the card lies or when it was copied).
#include "test_util.hpp"

#include "noisetrail/fingerprint.hpp"
#include "noisetrail/model_card.hpp"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace noisetrail;

namespace {

std::string sha(const std::string& s)
{
    return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void write(const std::filesystem::path& p, const std::string& text)
{
    std::ofstream(p, std::ios::binary) << text;
}

} // namespace

class TestFingerprint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void nist_vectors_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::addColumn<QString>("digest");
        QTest::newRow("empty") << QByteArray() << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        QTest::newRow("abc") << QByteArray("abc") << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        QTest::newRow("448 bits") << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                                  << "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
        QTest::newRow("896 bits")
            << QByteArray("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
            << "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1";
        QTest::newRow("a x 1000000") << QByteArray(1000000, 'a')
                                     << "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    }
    void nist_vectors()
    {
        QFETCH(QByteArray, message);
        QFETCH(QString, digest);
        QCOMPARE(QString::fromStdString(sha(message.toStdString())), digest);
    }

    void incremental_equals_one_shot()
    {
        const std::string text(1000, 'x');
        for (std::size_t cut : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 999u}) {
            Sha256 h;
            h.update(text.substr(0, cut));
            h.update(text.substr(cut));
            QCOMPARE(h.hex(), sha(text));
        }
    }

    void fingerprint_follows_bytes_not_places()
    {
        QTemporaryDir dir;
        const std::filesystem::path a = dir.path().toStdString() + "/a", b = dir.path().toStdString() + "/b";
        std::filesystem::create_directories(a);
        std::filesystem::create_directories(b);
        const std::string card = R"({"format": "noisetrail-model/1", "name": "e", "kind": "empirical",
            "data_shape": [2], "data": "points.bin"})";
        for (const auto& d : {a, b}) {
            write(d / "card.json", card);
            write(d / "points.bin", "0123456789");
        }
        ModelCard ca, cb;
        ca.path = a / "card.json";
        ca.json_text = card;
        cb.path = b / "card.json";
        cb.json_text = card;
        const std::string fa = content_fingerprint(ca);
        QVERIFY(fa.rfind("sha256:", 0) == 0);
        QCOMPARE(fa.size(), std::size_t(7 + 64));
        QCOMPARE(content_fingerprint(cb), fa); // another folder, other mtimes: same content
        write(b / "points.bin", "0123456780");  // one byte of the data changed
        QVERIFY(content_fingerprint(cb) != fa);
        write(b / "points.bin", "0123456789");
        QCOMPARE(content_fingerprint(cb), fa);
        cb.json_text += " "; // the card's own bytes count too
        QVERIFY(content_fingerprint(cb) != fa);
    }
};

QTEST_GUILESS_MAIN(TestFingerprint)
#include "tst_fingerprint.moc"
