// QatProcess: the command line of a QAT run and the child process that runs it.
#include "qat_process.hpp"

#include <signal.h>

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTimer>

namespace qs {

QStringList qat_arguments(const QatLaunch& l) {
  QStringList a{"qat", l.model};
  if (!l.plan_file.isEmpty()) {
    a << "--plan" << l.plan_file;
  } else {
    a << "--format" << l.format;
    if (!l.act_format.isEmpty()) a << "--act-format" << l.act_format;
  }
  a << "--text" << l.text;
  if (!l.heldout.isEmpty()) a << "--heldout" << l.heldout;
  a << "--steps" << QString::number(l.steps) << "--estimator" << l.estimator;
  if (l.estimator == "trust") a << "--trust-factor" << QString::number(l.trust_factor);
  if (l.estimator == "clip") a << "--clip-factor" << QString::number(l.clip_factor);
  if (l.kmeans_refit > 0) a << "--kmeans-refit" << QString::number(l.kmeans_refit);
  a << "--lr" << QString::number(l.lr) << "--warmup" << QString::number(l.warmup) << "--batch" << QString::number(l.batch)
    << "--ctx" << QString::number(l.ctx);
  if (l.eval_every > 0) a << "--eval-every" << QString::number(l.eval_every);
  a << "--log-every" << QString::number(l.log_every) << "--out" << l.out;
  if (!l.tokenizer.isEmpty()) a << "--tokenizer" << l.tokenizer;
  if (l.device != "cpu") a << "--device" << l.device;
  if (!l.dtype.isEmpty()) a << "--dtype" << l.dtype;
  return a;
}

QString cli_program() {
  const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("quantscope-cli");
  if (QFileInfo(beside).isExecutable()) return beside;
#ifdef QS_CLI_BUILD_PATH
  if (QFileInfo(QS_CLI_BUILD_PATH).isExecutable()) return QS_CLI_BUILD_PATH;
#endif
  const QString found = QStandardPaths::findExecutable("quantscope-cli");
  return found.isEmpty() ? QStringLiteral("quantscope-cli") : found;
}

QatProcess::QatProcess(QObject* parent) : QObject(parent), process_(new QProcess(this)) {
  process_->setProcessChannelMode(QProcess::MergedChannels);
  connect(process_, &QProcess::readyRead, this, [this] {
    output_ += QString::fromLocal8Bit(process_->readAll());
    if (output_.size() > 64000) output_ = output_.right(16000);
  });
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error == QProcess::FailedToStart) Q_EMIT ended(tr("Could not start %1: %2").arg(cli_program(), process_->errorString()));
  });
  connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
    output_ += QString::fromLocal8Bit(process_->readAll());
    if (status == QProcess::NormalExit && code == 0) {
      Q_EMIT ended(QString());
      return;
    }
    // The CLI's error is its last line starting "quantscope-cli" (no such line after a crash).
    QString error;
    for (const QString& line : output_.split('\n', Qt::SkipEmptyParts))
      if (line.startsWith("quantscope-cli")) error = line.trimmed();
    if (cancelling_) error = tr("cancelled");
    if (error.isEmpty())
      error = status == QProcess::CrashExit ? tr("the run ended abnormally (killed, or out of memory): %1")
                                                  .arg(output_.trimmed().section('\n', -1))
                                            : tr("the run failed with exit code %1: %2").arg(code).arg(output_.trimmed().section('\n', -1));
    Q_EMIT ended(error);
  });
}

QatProcess::~QatProcess() {
  if (!running()) return;
  ::kill(pid_t(process_->processId()), SIGINT);
  if (!process_->waitForFinished(5000)) {
    process_->kill();
    process_->waitForFinished(5000);
  }
}

void QatProcess::start(const QatLaunch& launch) {
  out_ = launch.out;
  output_.clear();
  cancelling_ = false;
  process_->start(cli_program(), qat_arguments(launch));
}

void QatProcess::cancel() {
  if (!running()) return;
  cancelling_ = true;
  ::kill(pid_t(process_->processId()), SIGINT);
  // A run stuck outside a step (loading a big model) still ends.
  QTimer::singleShot(10000, this, [this] {
    if (running()) process_->kill();
  });
}

}  // namespace qs
