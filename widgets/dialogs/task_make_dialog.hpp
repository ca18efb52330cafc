// Make Task Files: a cloze (last-word, LAMBADA-style) or 4-way choice (next sentence, HellaSwag-style)
// task file from a held-out text, with a count and a seed, as `quantscope-cli tasks make` writes it;
// the evaluation panel then scores every plan on it.
#pragma once
#include <QDialog>

class QComboBox;
class QLineEdit;
class QSpinBox;

namespace qs {

struct TaskMakeRequest {
  QString text, out;
  QString kind = "cloze";  // "cloze" or "choice"
  int count = 200;
  int seed = 0;
};

// Writes the task file atomically; throws qs::Error naming the file. Refuses to write over `text`.
void task_make_write(const TaskMakeRequest& request);
// The CLI line that writes the same file.
QString task_make_command(const TaskMakeRequest& request);

class TaskMakeDialog : public QDialog {
  Q_OBJECT

 public:
  explicit TaskMakeDialog(const QString& text, QWidget* parent = nullptr);
  TaskMakeRequest request() const;

 private:
  QLineEdit* text_;
  QComboBox* kind_;
  QSpinBox* count_;
  QSpinBox* seed_;
  QLineEdit* out_;
};

}  // namespace qs
