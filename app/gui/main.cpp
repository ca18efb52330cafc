// quantscope: the GUI entry point. Parses the command line and opens the model it names, or the
// embedded demo model when it names none.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>
#include <cstdio>

#include "main_window.hpp"
#include "preferences.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Quantscope");
  QApplication::setApplicationName("quantscope");
  QApplication::setApplicationDisplayName("Quantscope");
  QApplication::setApplicationVersion(QS_VERSION);
  QApplication::setWindowIcon(QIcon(":/icons/quantscope.svg"));

  QCommandLineParser parser;
  parser.setApplicationDescription("Quantscope: a workbench for studying LLM quantization layer by layer.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model",
                               "HF model directory (or packed checkpoint), .safetensors file (config.json "
                               "beside it), llama2.c .bin or .gguf; the embedded demo model when omitted.",
                               "[model]");
  const QCommandLineOption screenshot(
      "screenshot",
      "Once the model is open and its first layer plotted, save the window to FILE (PNG) and "
      "exit: for documentation images and smoke tests.",
      "FILE");
  parser.addOption(screenshot);
  parser.process(app);
  if (parser.positionalArguments().size() > 1) {
    std::fprintf(stderr, "quantscope: at most one model path\n");
    return 2;
  }

  qs::MainWindow window;
  window.show();

  QString path = parser.positionalArguments().value(0);
  const bool reopened = path.isEmpty() && !parser.isSet(screenshot) &&
                        qs::preference(qs::preference_key::kReopenSession).toBool() && window.session_reopen_last();
  if (path.isEmpty() && !reopened) {
    try {
      path = QString::fromStdString(qs::demo_model_dir().string());
    } catch (const qs::Error& e) {
      window.empty_state_show(QString::fromStdString(e.what()));
    }
  }

  if (parser.isSet(screenshot)) {
    if (path.isEmpty()) {
      std::fprintf(stderr, "quantscope: --screenshot needs a model and the demo model was not found\n");
      return 1;
    }
    const QString file = parser.value(screenshot);
    QObject::connect(&window, &qs::MainWindow::histogram_shown, &app, [&window, file] {
      // One more turn of the event loop lets pending layout and paint requests settle first.
      QTimer::singleShot(0, &window, [&window, file] {
        const bool saved = window.grab().save(file, "PNG");
        if (!saved) std::fprintf(stderr, "quantscope: %s: cannot write the screenshot\n", qPrintable(file));
        QApplication::exit(saved ? 0 : 1);
      });
    });
    QObject::connect(&window, &qs::MainWindow::model_load_failed, &app, [](const QString& error) {
      std::fprintf(stderr, "quantscope: %s\n", qPrintable(error));
      QApplication::exit(1);
    });
  }

  if (!path.isEmpty() && !reopened) window.model_open(path);
  return app.exec();
}
