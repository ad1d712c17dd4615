// Nothing lost on disk (issue 28): a full disk, kill -9, SIGTERM and SIGINT mid-write, 20
// concurrent writers, and special files (a FIFO, a symlink, a device node) as outputs. The
// real CLI runs on real files; every wait has a timeout, so nothing here can hang.
#include "test_util.hpp"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

using namespace noisetrail;
using test::CliResult;
using test::run_cli;

namespace {

QString ring() { return QString::fromStdString(test::source_path("models/ring8.json")); }

QByteArray bytes(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// Every temporary of the program (".X.noisetrail-tmp-PID-XXXXXX") under `dir`, hidden ones included.
QStringList temporaries(const QString& dir)
{
    QStringList found;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        if (it.fileName().contains(".noisetrail-tmp-"))
            found << it.filePath();
    }
    return found;
}

/// The batch of a float32 .npy written by write_npy ("'shape': (B, ...").
int npy_batch(const QByteArray& npy)
{
    const auto m = QRegularExpression("'shape': \\((\\d+),").match(QString::fromLatin1(npy.left(128)));
    return m.hasMatch() ? m.captured(1).toInt() : -1;
}

/// Start the CLI, wait until `ready` holds (polled every 0.2 ms), then send `sig`. Returns
/// false if the process ended first or `ready` never held within the timeout; `pid` is the
/// process's id.
bool signal_when(const QStringList& args, const std::function<bool()>& ready, int sig, QProcess& p, qint64* pid = nullptr)
{
    p.start(NOISETRAIL_CLI, args);
    if (!p.waitForStarted(10000))
        return false;
    if (pid)
        *pid = p.processId();
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 60000 && p.state() == QProcess::Running) {
        if (ready()) {
            ::kill(static_cast<pid_t>(p.processId()), sig);
            p.waitForFinished(30000);
            return true;
        }
        ::usleep(200);
    }
    p.waitForFinished(30000);
    return false;
}

bool any_temp_in(const QString& dir, const QString& name_part)
{
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        // Files with bytes in them: the real write, not the empty probe made before the work.
        if (it.fileName().contains(".noisetrail-tmp-") && it.fileName().contains(name_part) && it.fileInfo().size() > 0)
            return true;
    }
    return false;
}

} // namespace

class TestDiskSafety : public QObject {
    Q_OBJECT

private Q_SLOTS:
    /// A write that fails part-way (a full disk, or a file-size limit: EFBIG from the kernel,
    /// SIGXFSZ ignored) exits 2 naming the file and the reason, keeps the previous outputs
    /// whole and leaves no temporary behind.
    void failedWriteKeepsThePreviousOutput_data()
    {
        QTest::addColumn<bool>("tmpfs");
        QTest::newRow("file-size limit (EFBIG)") << false;
        QTest::newRow("full tmpfs (ENOSPC, root only)") << true;
    }
    void failedWriteKeepsThePreviousOutput()
    {
        QFETCH(bool, tmpfs);
        QTemporaryDir dir;
        if (!tmpfs) {
            const QString out = dir.filePath("o");
            QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "2", "--batch", "100", "--out", out}).code, 0);
            const QByteArray old_npy = bytes(out + "/samples.npy"), old_png = bytes(out + "/samples.png");
            QVERIFY(!old_npy.isEmpty() && !old_png.isEmpty());
            QProcess p;
            p.setChildProcessModifier([] {
                ::signal(SIGXFSZ, SIG_IGN); // then write(2) fails with EFBIG past the limit
                rlimit r{200000, 200000};
                ::setrlimit(RLIMIT_FSIZE, &r);
            });
            p.start(NOISETRAIL_CLI, {"sample", "--model", ring(), "--steps", "2", "--batch", "50000", "--out", out});
            QVERIFY(p.waitForFinished(60000));
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);
            QCOMPARE(p.exitCode(), 2);
            QVERIFY2(err.contains("samples.npy") && err.contains("File too large"), qPrintable(err));
            QVERIFY2(!err.contains(".noisetrail-tmp-"), qPrintable(err)); // the user's names, not ours
            QCOMPARE(bytes(out + "/samples.npy"), old_npy);
            QCOMPARE(bytes(out + "/samples.png"), old_png);
            QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
            return;
        }
        // A real full disk: a 1 MiB tmpfs in a private mount namespace (gone with it).
        if (::geteuid() != 0)
            QSKIP("mounting a tmpfs needs root; the file-size-limit row covers the failure");
        const QString script = QStringLiteral(
            "set -u; d=\"$1\"; cli=\"$2\"; card=\"$3\"\n"
            "mount -t tmpfs -o size=1m tmpfs \"$d\" || exit 77\n"
            "\"$cli\" sample --model \"$card\" --steps 2 --batch 100 --out \"$d/o\" 2>/dev/null || exit 10\n"
            "cp \"$d/o/samples.npy\" /tmp/nt-disk-safety-$$.npy\n"
            "\"$cli\" sample --model \"$card\" --steps 2 --batch 300000 --out \"$d/o\"; echo \"rc=$?\"\n"
            "cmp -s \"$d/o/samples.npy\" /tmp/nt-disk-safety-$$.npy && echo kept; rm -f /tmp/nt-disk-safety-$$.npy\n"
            "find \"$d\" -name '*.noisetrail-tmp-*' | sed 's/^/left: /'\n");
        QProcess p;
        p.start("unshare", {"--mount", "--propagation", "private", "sh", "-c", script, "sh", dir.path(), NOISETRAIL_CLI, ring()});
        if (!p.waitForStarted(10000))
            QSKIP("no unshare(1) here");
        QVERIFY(p.waitForFinished(60000));
        if (p.exitStatus() == QProcess::NormalExit && (p.exitCode() == 77 || p.exitCode() == 1))
            QSKIP("no tmpfs mount possible here (unshare or mount refused: a container without CAP_SYS_ADMIN?)");
        QCOMPARE(p.exitCode(), 0);
        const QString all = QString::fromUtf8(p.readAllStandardOutput()) + QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(all.contains("rc=2"), qPrintable(all));
        QVERIFY2(all.contains("No space left on device"), qPrintable(all));
        QVERIFY2(all.contains("kept"), qPrintable(all));
        QVERIFY2(!all.contains("left: "), qPrintable(all));
    }

    /// kill -9 mid-write cannot run a handler: the previous output stays whole, the
    /// temporary carries the dead pid, and the next write in that folder removes it.
    void killNineMidWrite()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("o");
        QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "1", "--batch", "10", "--out", out}).code, 0);
        const QByteArray old_npy = bytes(out + "/samples.npy");
        QProcess p;
        qint64 pid = 0;
        const bool hit = signal_when({"sample", "--model", ring(), "--steps", "1", "--batch", "1000000", "--out", out},
                                     [&] { return any_temp_in(dir.path(), "samples.npy"); }, SIGKILL, p, &pid);
        if (!hit)
            QSKIP("the write finished before it could be interrupted");
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
        QCOMPARE(bytes(out + "/samples.npy"), old_npy); // never torn, never lost
        QVERIFY(!temporaries(dir.path()).isEmpty());     // a kill -9 leaves them...
        for (const QString& t : temporaries(dir.path()))
            QVERIFY2(t.contains(QString(".noisetrail-tmp-%1-").arg(pid)), qPrintable(t));
        // ...and the next write next to them removes them (their pid is dead).
        QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "1", "--batch", "10", "--seed", "1", "--out", out}).code, 0);
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
        QVERIFY(bytes(out + "/samples.npy") != old_npy);
    }

    /// SIGTERM and SIGINT mid-write: the handler removes the live temporaries, then the
    /// process ends by the signal; the previous output stays whole.
    void terminateMidWrite_data()
    {
        QTest::addColumn<int>("sig");
        QTest::addColumn<QString>("kind");
        QTest::newRow("SIGTERM, --out folder") << int(SIGTERM) << "out";
        QTest::newRow("SIGINT, --out folder") << int(SIGINT) << "out";
        QTest::newRow("SIGTERM, session file") << int(SIGTERM) << "session";
        QTest::newRow("SIGINT, session file") << int(SIGINT) << "session";
    }
    void terminateMidWrite()
    {
        QFETCH(int, sig);
        QFETCH(QString, kind);
        QTemporaryDir dir;
        QStringList args;
        QString file, part;
        if (kind == "out") {
            file = dir.filePath("o/samples.npy");
            part = "samples.npy";
            args = {"sample", "--model", ring(), "--steps", "1", "--batch", "1000000", "--out", dir.filePath("o")};
            QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "1", "--batch", "10", "--out", dir.filePath("o")}).code, 0);
        } else {
            file = dir.filePath("s.ntsession");
            part = "s.ntsession";
            const auto write_recipe = [&](int batch) {
                test::write_file(dir, "r.run.json", QByteArray("{\"format\": \"noisetrail-run/1\", \"model\": \"") +
                    ring().toUtf8() + "\", \"seed\": 1, \"batch\": " + QByteArray::number(batch) +
                    ", \"panels\": [{\"sampler\": \"ddim\", \"steps\": 50}]}");
            };
            write_recipe(4);
            QCOMPARE(run_cli({"run", "--config", dir.filePath("r.run.json"), "--session", file}).code, 0);
            write_recipe(100000);
            args = {"run", "--config", dir.filePath("r.run.json"), "--session", file};
        }
        const QByteArray old = bytes(file);
        QVERIFY(!old.isEmpty());
        QProcess p;
        p.setChildProcessModifier([] { ::signal(SIGINT, SIG_DFL); }); // a background shell ignores SIGINT
        if (!signal_when(args, [&] { return any_temp_in(dir.path(), part); }, sig, p))
            QSKIP("the write finished before it could be interrupted");
        QCOMPARE(p.exitStatus(), QProcess::CrashExit); // ended by the signal's default action
        QCOMPARE(bytes(file), old);
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
    }

    /// 20 concurrent `sample --out` into one folder: every run exits 0, and the folder holds
    /// the files of exactly one run (samples.npy and samples.png of the same run).
    void concurrentSamplesNeverMix()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("o");
        constexpr int kRuns = 20;
        std::vector<std::unique_ptr<QProcess>> procs;
        for (int i = 0; i < kRuns; ++i) {
            procs.push_back(std::make_unique<QProcess>());
            procs.back()->start(NOISETRAIL_CLI, {"sample", "--model", ring(), "--steps", "3", "--seed", QString::number(i),
                                                 "--batch", QString::number(100 + i), "--threads", "1", "--out", out});
        }
        for (auto& p : procs) {
            QVERIFY(p->waitForFinished(120000));
            QVERIFY2(p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0,
                     qPrintable(QString::fromUtf8(p->readAllStandardError())));
        }
        const QByteArray npy = bytes(out + "/samples.npy"), png = bytes(out + "/samples.png");
        const int i = npy_batch(npy) - 100; // each run had its own batch: it names the run
        QVERIFY2(i >= 0 && i < kRuns, npy.left(80).constData());
        const QString ref = dir.filePath("ref");
        QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "3", "--seed", QString::number(i), "--batch",
                          QString::number(100 + i), "--threads", "1", "--out", ref}).code, 0);
        QCOMPARE(npy, bytes(ref + "/samples.npy"));
        QCOMPARE(png, bytes(ref + "/samples.png")); // the PNG is that same run's
        QCOMPARE(QDir(out).entryList(QDir::Files | QDir::Hidden).size(), 2);
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
    }

    /// 20 concurrent small `compare` runs into one folder, each computing its own cells:
    /// the cache keeps every computed cell (merged under a lock, no fixed temporary name).
    void concurrentCompareKeepsEveryCell()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("c");
        constexpr int kRuns = 20;
        std::vector<std::unique_ptr<QProcess>> procs;
        for (int i = 0; i < kRuns; ++i) {
            procs.push_back(std::make_unique<QProcess>());
            procs.back()->start(NOISETRAIL_CLI, {"compare", "--model", ring(), "--samples", "8", "--steps",
                                                 QString::number(i + 1), "--etas", "0", "--threads", "1", "--out", out});
        }
        int computed = 0;
        for (auto& p : procs) {
            QVERIFY(p->waitForFinished(120000));
            const QString err = QString::fromUtf8(p->readAllStandardError());
            QVERIFY2(p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0, qPrintable(err));
            const auto m = QRegularExpression("(\\d+) computed").match(err);
            QVERIFY2(m.hasMatch(), qPrintable(err));
            computed += m.captured(1).toInt();
        }
        const QJsonObject cache = QJsonDocument::fromJson(bytes(out + "/compare-cache.json")).object();
        const QJsonObject cells = cache.value("cells").toObject();
        QVERIFY(computed >= kRuns);
        QCOMPARE(cells.size(), computed); // every computed cell kept
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
        QVERIFY(!QFile::exists(out + "/compare-cache.json.tmp"));
    }

    /// Special files named as outputs are refused before any work (exit 2 naming the flag
    /// and the path) and stay what they were; a symlink to a regular file is written through.
    void specialFilesAsOutputs()
    {
        QTemporaryDir dir;
        const QString recipe = QString::fromStdString(test::write_file(dir, "r.run.json",
            QByteArray("{\"format\": \"noisetrail-run/1\", \"model\": \"") + ring().toUtf8() +
            "\", \"seed\": 1, \"batch\": 4, \"panels\": [{\"sampler\": \"ddim\", \"steps\": 5}]}"));
        const QString session = dir.filePath("s.ntsession");
        QCOMPARE(run_cli({"run", "--config", recipe, "--session", session}).code, 0);

        const QString fifo = dir.filePath("fifo");
        QCOMPARE(::mkfifo(fifo.toLocal8Bit().constData(), 0644), 0);
        // A device node: our own (root) or the system's /dev/null (no one else may replace it).
        QString device = "/dev/null";
        if (::geteuid() == 0) {
            device = dir.filePath("null");
            QCOMPARE(::mknod(device.toLocal8Bit().constData(), S_IFCHR | 0666, makedev(1, 3)), 0);
        }
        const QString link_dev = dir.filePath("link-to-null");
        QVERIFY(QFile::link(device, link_dev));
        QDir().mkpath(dir.filePath("o"));
        QCOMPARE(::mkfifo(dir.filePath("o/samples.npy").toLocal8Bit().constData(), 0644), 0);
        QDir().mkpath(dir.filePath("adir"));

        struct Case {
            QStringList args;
            QString flag, path;
        };
        const std::vector<Case> cases{
            {{"session", "filmstrip", session, "--out", fifo}, "--out", fifo},
            {{"session", "export", session, "--gif", fifo}, "--gif", fifo},
            {{"session", "export", session, "--mp4", device}, "--mp4", device},
            {{"session", "export", session, "--gif", link_dev}, "--gif", link_dev},
            {{"session", "filmstrip", session, "--out", dir.filePath("adir")}, "--out", dir.filePath("adir")},
            {{"run", "--config", recipe, "--session", fifo}, "--session", fifo},
            {{"run", "--config", recipe, "--session", device}, "--session", device},
            {{"sample", "--model", ring(), "--steps", "2", "--batch", "4", "--out", dir.filePath("o")}, "--out",
             dir.filePath("o")},
        };
        for (const Case& c : cases) {
            const CliResult r = run_cli(c.args, 240000); // a blocked open() would end here as -1
            QVERIFY2(r.code == 2, qPrintable(c.args.join(' ') + ": " + QString::number(r.code) + " " + r.err));
            QVERIFY2(r.err.contains(c.flag) && r.err.contains(c.path), qPrintable(r.err));
            QVERIFY2(r.err.trimmed().count('\n') == 0, qPrintable(r.err));
        }
        struct stat st {};
        QVERIFY(::stat(fifo.toLocal8Bit().constData(), &st) == 0 && S_ISFIFO(st.st_mode));
        QVERIFY(::stat(dir.filePath("o/samples.npy").toLocal8Bit().constData(), &st) == 0 && S_ISFIFO(st.st_mode));
        QVERIFY(::stat(device.toLocal8Bit().constData(), &st) == 0 && S_ISCHR(st.st_mode));
        QVERIFY(::lstat(link_dev.toLocal8Bit().constData(), &st) == 0 && S_ISLNK(st.st_mode));
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));

        // A symlink to a regular file: the file it points to is replaced, the link stays.
        const QString real = dir.filePath("real.png"), link = dir.filePath("link.png");
        test::write_file(dir, "real.png", "old");
        QVERIFY(QFile::link(real, link));
        QCOMPARE(run_cli({"session", "filmstrip", session, "--out", link}).code, 0);
        QVERIFY(::lstat(link.toLocal8Bit().constData(), &st) == 0 && S_ISLNK(st.st_mode));
        QVERIFY(bytes(real).startsWith("\x89PNG"));
        // A dangling symlink is refused (it would create a file wherever it points).
        const QString dangling = dir.filePath("dangling.gif");
        QVERIFY(QFile::link(dir.filePath("nowhere/x.gif"), dangling));
        const CliResult r = run_cli({"session", "export", session, "--gif", dangling});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--gif") && r.err.contains("symlink"), qPrintable(r.err));
    }

    /// A folder in place of compare-cache.json is never replaced: compare warns, does not
    /// cache, and still writes its tables.
    void compareCacheThatIsAFolder()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("c");
        QDir().mkpath(out + "/compare-cache.json");
        const CliResult r = run_cli({"compare", "--model", ring(), "--samples", "8", "--steps", "2", "--etas", "0",
                                     "--threads", "1", "--out", out});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("compare-cache.json") && r.err.contains("not a regular file"), qPrintable(r.err));
        QVERIFY(QFileInfo(out + "/compare-cache.json").isDir());
        QVERIFY(QFile::exists(out + "/compare.csv"));
        QVERIFY2(temporaries(dir.path()).isEmpty(), qPrintable(temporaries(dir.path()).join(", ")));
    }

    /// A stale --out folder's other files survive the swap; outputs an older run wrote and
    /// this one did not are not left behind to mix with the new ones.
    void folderSwapKeepsTheUsersFiles()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("o");
        QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "2", "--batch", "10", "--out", out}).code, 0);
        test::write_file(dir, "o/notes.txt", "mine");
        QCOMPARE(run_cli({"sample", "--model", ring(), "--steps", "2", "--batch", "12", "--out", out}).code, 0);
        QCOMPARE(bytes(out + "/notes.txt"), QByteArray("mine"));
        QCOMPARE(npy_batch(bytes(out + "/samples.npy")), 12);
        // The current folder cannot be swapped away under the user.
        QProcess p;
        p.setWorkingDirectory(out);
        p.start(NOISETRAIL_CLI, {"sample", "--model", ring(), "--steps", "2", "--batch", "4", "--out", "."});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("--out"));
    }

    /// The smaller messages: each names what is wrong.
    void namedErrors()
    {
        QTemporaryDir dir;
        // An architecture far larger than its weights file (or the machine): exit 2 naming the
        // card and the field, before libtorch allocates anything.
        test::write_file(dir, "w.pt", QByteArray(1000, 'x'));
        const std::string card = test::write_file(dir, "huge.json", "{\"format\": \"noisetrail-model/1\", \"name\": \"huge\",\n"
            "            \"kind\": \"noisetrail-unet\", \"data_shape\": [1, 28, 28], \"prediction\": \"epsilon\",\n"
            "            \"schedule\": {\"kind\": \"linear\", \"train_steps\": 1000}, \"weights\": \"w.pt\",\n"
            "            \"architecture\": {\"in_channels\": 1, \"base_channels\": 512, \"channel_mult\": [16, 16, 16, 16, 16]}}");
        CliResult r = run_cli({"sample", "--model", QString::fromStdString(card), "--steps", "1", "--batch", "1"});
        QVERIFY2(r.code == 2 && r.err.contains("huge.json") && r.err.contains("architecture"), qPrintable(r.err));

        // Non-finite initial noise names the file.
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const std::vector<float> x{0.f, 1.f, nan, 0.f};
        QByteArray header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        while ((10 + header.size() + 1) % 64)
            header += ' ';
        header += '\n';
        QByteArray npy("\x93NUMPY\x01\x00", 8);
        npy += char(header.size() & 0xff);
        npy += char(header.size() >> 8);
        npy += header + QByteArray(reinterpret_cast<const char*>(x.data()), 16);
        const std::string noise = test::write_file(dir, "nan-noise.npy", npy);
        r = run_cli({"sample", "--model", ring(), "--steps", "1", "--init-noise", QString::fromStdString(noise)});
        QVERIFY2(r.code == 2 && r.err.contains("nan-noise.npy") && r.err.contains("non-finite"), qPrintable(r.err));

        // A NUL inside a recipe's model path is an error naming the field, not a cut path.
        const std::string recipe = test::write_file(dir, "nul.run.json",
            QByteArray("{\"format\": \"noisetrail-run/1\", \"model\": \"") + ring().toUtf8() +
            "\\u0000.evil\", \"seed\": 1, \"batch\": 2, \"panels\": [{\"sampler\": \"ddim\", \"steps\": 2}]}");
        r = run_cli({"run", "--config", QString::fromStdString(recipe)});
        QVERIFY2(r.code == 2 && r.err.contains("model") && r.err.contains("NUL"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestDiskSafety)
#include "tst_disk_safety.moc"
