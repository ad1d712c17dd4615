// Small helpers shared by tests: temporary model cards and paths to bundled files.
#pragma once
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStringList>
#include <QString>
#include <QTemporaryDir>

#include <string>

namespace noisetrail::test {

inline std::string source_path(const char* relative)
{
    return std::string(NOISETRAIL_SOURCE_DIR) + "/" + relative;
}

/// Write `json` as `name` inside `dir` and return its path.
inline std::string write_file(const QTemporaryDir& dir, const QString& name, const QByteArray& contents)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    f.write(contents);
    return path.toStdString();
}

/// A gaussian-mixture card with the given mixture JSON and optional prediction.
inline QByteArray mixture_card(const QByteArray& mixture, const QByteArray& data_shape = "[2]",
                               const QByteArray& prediction = "epsilon", const QByteArray& schedule =
                                   R"({"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "train_steps": 1000})")
{
    return R"({"format": "noisetrail-model/1", "name": "test mixture", "kind": "gaussian-mixture", "data_shape": )" +
           data_shape + R"(, "prediction": ")" + prediction + R"(", "schedule": )" + schedule +
           R"(, "mixture": )" + mixture + "}";
}

/// What one run of the real noisetrail-cli binary did.
struct CliResult {
    int code = -1; ///< exit code; -1 if it crashed or did not finish
    QString out, err;
};

inline CliResult run_cli(const QStringList& args, int timeout_ms = 240000)
{
    QProcess p;
    p.start(NOISETRAIL_CLI, args);
    p.waitForFinished(timeout_ms);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

} // namespace noisetrail::test
