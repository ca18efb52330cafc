// A QAT run started from the workbench: the settings of `quantscope-cli qat` (QatLaunch), the exact
// command line they make, and the supervised child process that runs it. Training runs in its own
// process, so that it never occupies a worker the interactive panels wait on, and a run that crashes
// or runs out of memory ends with its error in the panel instead of taking the window down. Cancel
// sends SIGINT, which the CLI turns into a cooperative stop that writes "cancelled" into run.h5.
#pragma once
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace qs {

struct QatLaunch {
  QString model;            // path of the model to fine-tune ("demo" works too)
  QString tokenizer;        // empty: the model's own
  QString device = "cpu";   // "cpu", "cuda"
  QString dtype;            // empty: the CLI's default
  QString plan_file;        // a plan, or
  QString format;           // one format for every decoder linear layer,
  QString act_format;       // with this input format (only with `format`)
  QString estimator = "trust";
  double trust_factor = 1, clip_factor = 1;
  int steps = 100, batch = 16, ctx = 256, warmup = 10, kmeans_refit = 0, eval_every = 0, log_every = 10;
  double lr = 1e-4;
  QString text, heldout;    // training and held-out texts (no held-out: the last 2 % of the text)
  QString out;              // the run folder (run.h5, final/)
};

// The arguments after the program name, in the order `quantscope-cli qat --help` lists them.
QStringList qat_arguments(const QatLaunch& launch);
// The CLI program the window runs: quantscope-cli beside the window's executable when installed, else
// the one of the build tree this binary was built with, else the one on PATH.
QString cli_program();

class QatProcess : public QObject {
  Q_OBJECT

 public:
  explicit QatProcess(QObject* parent = nullptr);
  // Kills a run still going (SIGKILL after SIGINT had 5 s) and waits for it.
  ~QatProcess() override;

  void start(const QatLaunch& launch);
  // SIGINT: the CLI stops at the next step and writes the run as cancelled.
  void cancel();
  bool running() const { return process_->state() != QProcess::NotRunning; }
  qint64 process_id() const { return process_->processId(); }
  const QString& out_dir() const { return out_; }
  // The end of what the process printed to stderr and stdout (its error, or its final table).
  QString output_tail() const { return output_.right(4000); }

 Q_SIGNALS:
  // error is empty for a run that exited 0; otherwise the CLI's error line(s), or how it died.
  void ended(const QString& error);

 private:
  QProcess* process_;
  QString out_;
  QString output_;
  bool cancelling_ = false;
};

}  // namespace qs
