// File ▸ Export…: where and how the workbench's model and plan are written (docs/export.md). It shows
// the layers the chosen target cannot hold and why, offers a fallback format for them, and gives the
// output's size before anything is computed; the window runs the export itself as a cancellable job.
#pragma once
#include <QDialog>
#include <QString>
#include <memory>
#include <vector>

#include "quantscope/export.hpp"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace qs {

class Model;

class ExportDialog : public QDialog {
  Q_OBJECT
 public:
  // `plan` is the workbench's plan resolved against `model` (the layers it changes).
  ExportDialog(std::shared_ptr<const Model> model, std::vector<LayerFormat> plan, const QString& model_path,
               QWidget* parent = nullptr);

  const std::vector<LayerFormat>& plan() const { return plan_; }
  QString output_path() const;
  ExportOptions options() const;  // without a job
  // What the dialog shows, for tests and the status bar.
  int problem_count() const;
  QString size_text() const;
  bool ready() const;  // a path, and nothing the target refuses

  void target_set(ExportTarget target);
  void fallback_set(const QString& spec);  // empty: refuse
  void output_path_set(const QString& path);

 private:
  void browse();
  void refresh();

  std::shared_ptr<const Model> model_;
  std::vector<LayerFormat> plan_;
  QString model_path_;
  QComboBox* target_;
  QLineEdit* path_;
  QTableWidget* problems_;
  QLabel* problems_label_;
  QComboBox* fallback_;
  QComboBox* float_dtype_;
  QLabel* size_;
  QPushButton* export_;
  bool ready_ = false;
};

}  // namespace qs
