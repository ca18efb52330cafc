// Sessions as versioned JSON (see session_file.hpp).
#include "session_file.hpp"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <cmath>

#include "quantscope/error.hpp"

namespace qs {

namespace {

constexpr const char* kKind = "quantscope-session";

// JSON has no NaN or infinity; a metric that has none (bits per weight of a plan that quantizes
// nothing) is written as null and read back as NaN.
QJsonValue number(double value) { return std::isfinite(value) ? QJsonValue(value) : QJsonValue(); }
double number_of(const QJsonValue& value) { return value.isDouble() ? value.toDouble() : std::nan(""); }

QJsonArray strings_json(const QStringList& list) { return QJsonArray::fromStringList(list); }

QStringList strings_of(const QJsonValue& value) {
  QStringList list;
  for (const QJsonValue& v : value.toArray()) list << v.toString();
  return list;
}

QJsonObject perplexity_json(const PerplexityResult& p) {
  return {{"tokens", qint64(p.tokens)}, {"bytes", qint64(p.bytes)},       {"windows", qint64(p.windows)},
          {"nll", number(p.nll)},       {"perplexity", number(p.perplexity)}, {"bits_per_byte", number(p.bits_per_byte)},
          {"nll_standard_error", number(p.nll_standard_error)},
          {"perplexity_standard_error", number(p.perplexity_standard_error)},
          {"seconds", number(p.seconds)}};
}

PerplexityResult perplexity_of(const QJsonObject& o) {
  PerplexityResult p;
  p.tokens = o["tokens"].toInteger();
  p.bytes = o["bytes"].toInteger();
  p.windows = o["windows"].toInteger();
  p.nll = number_of(o["nll"]);
  p.perplexity = number_of(o["perplexity"]);
  p.bits_per_byte = number_of(o["bits_per_byte"]);
  p.nll_standard_error = number_of(o["nll_standard_error"]);
  p.perplexity_standard_error = number_of(o["perplexity_standard_error"]);
  p.seconds = number_of(o["seconds"]);
  return p;
}

QJsonObject record_json(const EvalRecord& r) {
  const PlanMetrics& m = r.metrics;
  QJsonArray tasks;
  for (const TaskScore& t : m.tasks)
    tasks.append(QJsonObject{{"name", QString::fromStdString(t.name)},
                             {"items", qint64(t.items)},
                             {"correct", qint64(t.correct)},
                             {"accuracy", number(t.accuracy)},
                             {"standard_error", number(t.standard_error)},
                             {"seconds", number(t.seconds)}});
  const KlResult& kl = m.kl;
  return {{"label", r.label},
          {"plan", r.plan_json},
          {"text", r.text_path},
          {"max_tokens", qint64(r.max_tokens)},
          {"ctx", qint64(r.ctx)},
          {"tasks_files", strings_json(r.task_paths)},
          {"reference_model", r.reference_path},
          {"quantized_parameters", qint64(m.quantized_parameters)},
          {"bits_per_weight", number(m.bits_per_weight)},
          {"model_bytes", qint64(m.model_bytes)},
          {"seconds", number(m.seconds)},
          {"kl",
           QJsonObject{{"tokens", qint64(kl.tokens)},
                       {"mean", number(kl.mean)},
                       {"median", number(kl.median)},
                       {"p99", number(kl.p99)},
                       {"max", number(kl.max)},
                       {"top1_agreement", number(kl.top1_agreement)},
                       {"model", perplexity_json(kl.model)},
                       {"reference", perplexity_json(kl.reference)}}},
          {"tasks", tasks}};
}

EvalRecord record_of(const QJsonObject& o) {
  EvalRecord r;
  r.label = o["label"].toString();
  r.plan_json = o["plan"].toString();
  r.text_path = o["text"].toString();
  r.max_tokens = o["max_tokens"].toInteger();
  r.ctx = o["ctx"].toInteger();
  r.task_paths = strings_of(o["tasks_files"]);
  r.reference_path = o["reference_model"].toString();
  PlanMetrics& m = r.metrics;
  m.quantized_parameters = uint64_t(o["quantized_parameters"].toInteger());
  m.bits_per_weight = number_of(o["bits_per_weight"]);
  m.model_bytes = uint64_t(o["model_bytes"].toInteger());
  m.seconds = number_of(o["seconds"]);
  const QJsonObject kl = o["kl"].toObject();
  m.kl.tokens = kl["tokens"].toInteger();
  m.kl.mean = number_of(kl["mean"]);
  m.kl.median = number_of(kl["median"]);
  m.kl.p99 = number_of(kl["p99"]);
  m.kl.max = number_of(kl["max"]);
  m.kl.top1_agreement = number_of(kl["top1_agreement"]);
  m.kl.model = perplexity_of(kl["model"].toObject());
  m.kl.reference = perplexity_of(kl["reference"].toObject());
  for (const QJsonValue& value : o["tasks"].toArray()) {
    const QJsonObject t = value.toObject();
    TaskScore score;
    score.name = t["name"].toString().toStdString();
    score.items = t["items"].toInteger();
    score.correct = t["correct"].toInteger();
    score.accuracy = number_of(t["accuracy"]);
    score.standard_error = number_of(t["standard_error"]);
    score.seconds = number_of(t["seconds"]);
    m.tasks.push_back(score);
  }
  return r;
}

}  // namespace

QByteArray session_json(const Session& s) {
  QJsonArray history;
  for (const EvalRecord& r : s.history) history.append(record_json(r));
  const QJsonObject root{{"kind", kKind},
                         {"version", Session::kVersion},
                         {"model", QJsonObject{{"path", s.model_path}, {"device", s.device}, {"dtype", s.dtype}}},
                         {"plan", QJsonObject{{"json", s.plan_json}, {"path", s.plan_path}}},
                         {"selection", QJsonObject{{"layer", s.selected_layer}, {"layers", strings_json(s.selected_layers)}}},
                         {"compare_slots", strings_json(s.compare_slots)},
                         {"history", history},
                         {"results", s.results_path},
                         {"panels", s.panels},
                         {"window", QJsonObject{{"layout", QString::fromLatin1(s.layout.toBase64())},
                                                {"geometry", QString::fromLatin1(s.geometry.toBase64())}}}};
  return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

Session session_parse(const QByteArray& json, const QString& path) {
  auto fail = [&](const QString& problem) {
    throw Error(ErrorKind::Invalid, (path + ": " + problem).toStdString());
  };
  QJsonParseError parse_error;
  const QJsonDocument document = QJsonDocument::fromJson(json, &parse_error);
  if (parse_error.error != QJsonParseError::NoError)
    fail(QString("not JSON (%1 at byte %2)").arg(parse_error.errorString()).arg(parse_error.offset));
  const QJsonObject root = document.object();
  if (!document.isObject() || root["kind"].toString() != kKind) fail("not a Quantscope session (no \"kind\": \"quantscope-session\")");
  const int version = root["version"].toInt(-1);
  if (version < 1) fail("the session has no valid \"version\"");
  if (version > Session::kVersion)
    fail(QString("session version %1 is newer than this Quantscope reads (%2)").arg(version).arg(Session::kVersion));
  Session s;
  const QJsonObject model = root["model"].toObject();
  s.model_path = model["path"].toString();
  s.device = model["device"].toString();
  s.dtype = model["dtype"].toString();
  const QJsonObject plan = root["plan"].toObject();
  s.plan_json = plan["json"].toString();
  s.plan_path = plan["path"].toString();
  const QJsonObject selection = root["selection"].toObject();
  s.selected_layer = selection["layer"].toString();
  s.selected_layers = strings_of(selection["layers"]);
  s.compare_slots = strings_of(root["compare_slots"]);
  for (const QJsonValue& value : root["history"].toArray()) {
    if (!value.isObject()) fail("an evaluation history entry is not an object");
    s.history.push_back(record_of(value.toObject()));
  }
  s.results_path = root["results"].toString();
  s.panels = root["panels"].toObject();
  const QJsonObject window = root["window"].toObject();
  s.layout = QByteArray::fromBase64(window["layout"].toString().toLatin1());
  s.geometry = QByteArray::fromBase64(window["geometry"].toString().toLatin1());
  return s;
}

Session session_read(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly))
    throw Error(ErrorKind::Io, (path + ": cannot open the session (" + file.errorString() + ")").toStdString());
  // A session is a few hundred KiB at most; a multi-megabyte file is no session.
  if (file.size() > (64 << 20)) throw Error(ErrorKind::Invalid, (path + ": too large for a session").toStdString());
  return session_parse(file.readAll(), path);
}

void session_write(const Session& session, const QString& path) {
  QSaveFile file(path);
  const QByteArray bytes = session_json(session);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
    throw Error(ErrorKind::Io, (path + ": cannot write the session (" + file.errorString() + ")").toStdString());
}

}  // namespace qs
