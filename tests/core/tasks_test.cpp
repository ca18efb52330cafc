// Downstream tasks: task files round-trip and every malformed line is reported by file and line; the
// generators are deterministic and build what they claim (a cloze answer appeared earlier in its
// prompt, a choice label points at the sentence that follows the context in the text); scoring is
// checked on a constructed "chain" model whose every prediction is known exactly, and on the demo
// model's bundled task files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/hf_layout.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tasks.hpp"
#include "quantscope/tokenizer.hpp"
#include "temp_dir.hpp"
#include "train_fixture.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

const fs::path kSample = fs::path(QS_SOURCE_DIR) / "resources/models/demo/heldout-sample.txt";

// ---------------------------------------------------------------------------------------------------
// Task files

TaskSet generate_set() {
  TaskSet set;
  set.kind = TaskKind::Generate;
  set.items = {{.prompt = "Call me", .answer = "Ishmael"},
               {.prompt = "Line one\nline \"two\" \\ tab\t", .answer = "Ünïcödé — ok"}};
  return set;
}

TaskSet choice_set() {
  TaskSet set;
  set.kind = TaskKind::Choice;
  set.items = {{.context = "In the beginning ", .choices = {"God created.", "whales swam.", "x"}, .label = 0},
               {.context = "", .choices = {"a", "b"}, .label = 1}};
  return set;
}

void expect_items_equal(const TaskSet& a, const TaskSet& b) {
  ASSERT_EQ(a.kind, b.kind);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) {
    EXPECT_EQ(a.items[i].prompt, b.items[i].prompt) << i;
    EXPECT_EQ(a.items[i].answer, b.items[i].answer) << i;
    EXPECT_EQ(a.items[i].context, b.items[i].context) << i;
    EXPECT_EQ(a.items[i].choices, b.items[i].choices) << i;
    EXPECT_EQ(a.items[i].label, b.items[i].label) << i;
  }
}

TEST(TaskFile, RoundTripsBothKinds) {
  test::TempDir dir;
  for (const TaskSet& set : {generate_set(), choice_set()}) {
    const fs::path path = dir / (std::string(task_kind_name(set.kind)) + "-set.jsonl");
    task_file_save(set, path);
    const std::string bytes = test::bytes_read(path);
    EXPECT_EQ(std::count(bytes.begin(), bytes.end(), '\n'), static_cast<long>(set.items.size())) << bytes;
    const TaskSet loaded = task_file_load(path);
    EXPECT_EQ(loaded.name, path.stem().string());
    expect_items_equal(set, loaded);
    // Saving what was loaded gives the same bytes.
    task_file_save(loaded, dir / "again.jsonl");
    EXPECT_EQ(test::bytes_read(dir / "again.jsonl"), bytes);
  }
  // Blank lines and CRLF line ends are accepted.
  test::bytes_write(dir / "crlf.jsonl", "\r\n{\"prompt\": \"p\", \"answer\": \"a\"}\r\n\r\n  \n");
  EXPECT_EQ(task_file_load(dir / "crlf.jsonl").items.size(), 1u);
}

// Every malformed line: Format, one line, "FILE:LINE: problem".
TEST(TaskFile, LoadErrorsNameFileAndLine) {
  test::TempDir dir;
  const std::string good = "{\"prompt\": \"p\", \"answer\": \"a\"}\n";
  const std::string choice = "{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 1}\n";
  struct Case {
    std::string content;
    int line;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"{\"prompt\": \"p\", \"answer\": \n", 1, "invalid JSON"},
      {good + "[1, 2]\n", 2, "an item is a JSON object"},
      {good + "{\"prompt\": \"p\", \"answer\": \"a\", \"hint\": 1}\n", 2, "unknown key \"hint\""},
      {"{\"prompt\": \"p\"}\n", 1, "\"answer\" is missing"},
      {"{\"answer\": \"a\"}\n", 1, "\"prompt\" is missing"},
      {"{\"prompt\": 3, \"answer\": \"a\"}\n", 1, "\"prompt\" must be a string"},
      {"{\"prompt\": \"p\", \"answer\": \"\"}\n", 1, "\"answer\" is empty"},
      {"{\"prompt\": \"p\", \"answer\": \"a\", \"prompt\": \"q\"}\n", 1, "duplicate key \"prompt\""},
      {"{}\n", 1, "an empty item"},
      {"{\"prompt\": \"p\", \"choices\": [\"a\", \"b\"]}\n", 1, "mixes generate keys with choice keys"},
      {good + "\n" + choice, 3, "a choice item in a file of generate items (line 1 is one)"},
      {choice + good, 2, "a generate item in a file of choice items (line 1 is one)"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\"]}\n", 1, "\"label\" is missing"},
      {"{\"choices\": [\"a\", \"b\"], \"label\": 0}\n", 1, "\"context\" is missing"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 2}\n", 1,
       "label 2 is outside the 2 choices (0 to 1)"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": -1}\n", 1, "label -1 is outside the 2 choices"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 1.0}\n", 1, "\"label\" must be a whole number"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": \"0\"}\n", 1, "\"label\" must be a whole number"},
      {"{\"context\": \"c\", \"choices\": [\"a\"], \"label\": 0}\n", 1, "\"choices\" has 1 entries; at least two"},
      {"{\"context\": \"c\", \"choices\": \"ab\", \"label\": 0}\n", 1, "\"choices\" must be an array of strings"},
      {"{\"context\": \"c\", \"choices\": [\"a\", 2], \"label\": 0}\n", 1, "\"choices\" must be an array of strings"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"\"], \"label\": 0}\n", 1, "choice 1 is empty"},
      {"{\"context\": \"c\", \"choices\": [\"a\", \"b\", \"a\"], \"label\": 0}\n", 1, "choices 0 and 2 are the same"},
      {good + good + "{\"prompt\": \"\xff\", \"answer\": \"a\"}\n", 3, "invalid JSON"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path path = dir / ("case" + std::to_string(i) + ".jsonl");
    test::bytes_write(path, cases[i].content);
    try {
      task_file_load(path);
      ADD_FAILURE() << "case " << i << " loaded: " << cases[i].content;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::Format) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      const std::string where = path.string() + ":" + std::to_string(cases[i].line) + ": ";
      EXPECT_EQ(message.rfind(where, 0), 0u) << "case " << i << ": " << message;
      EXPECT_NE(message.find(cases[i].problem), std::string::npos) << "case " << i << ": " << message;
    }
  }
  // A file without items names the file; a missing file is an Io error.
  for (const std::string content : {"", "\n  \n"}) {
    test::bytes_write(dir / "empty.jsonl", content);
    try {
      task_file_load(dir / "empty.jsonl");
      ADD_FAILURE() << "an empty file loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Format);
      EXPECT_EQ(std::string(e.what()).rfind((dir / "empty.jsonl").string() + ": no items", 0), 0u) << e.what();
    }
  }
  try {
    task_file_load(dir / "absent.jsonl");
    ADD_FAILURE() << "a missing file loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
}

TEST(TaskFile, SaveRefusesWhatLoadWouldRefuse) {
  test::TempDir dir;
  const fs::path path = dir / "out.jsonl";
  TaskSet bad = choice_set();
  bad.items[1].label = 2;
  EXPECT_THROW(task_file_save(bad, path), Error);
  bad = generate_set();
  bad.items[0].answer.clear();
  EXPECT_THROW(task_file_save(bad, path), Error);
  bad = generate_set();
  bad.items[1].prompt = "\xc3";  // a cut UTF-8 character
  EXPECT_THROW(task_file_save(bad, path), Error);
  EXPECT_THROW(task_file_save(TaskSet{}, path), Error);
  EXPECT_FALSE(fs::exists(path));
}

TEST(TaskNormalise, ExactTrimWord) {
  EXPECT_EQ(task_normalise_apply(" Whale,\n", TaskNormalise::Exact), " Whale,\n");
  EXPECT_EQ(task_normalise_apply(" Whale,\n", TaskNormalise::Trim), "Whale,");
  EXPECT_EQ(task_normalise_apply(" \"Whale,\"\n", TaskNormalise::Word), "whale");
  EXPECT_EQ(task_normalise_apply("\xe2\x80\x9c" "Ahab" "\xe2\x80\x94", TaskNormalise::Word), "ahab");  // “Ahab—
  EXPECT_EQ(task_normalise_apply("don't.", TaskNormalise::Word), "don't");
  EXPECT_EQ(task_normalise_parse("trim", "x"), TaskNormalise::Trim);
  EXPECT_THROW(task_normalise_parse("lower", "--normalise"), Error);
}

// ---------------------------------------------------------------------------------------------------
// Generators

std::string sample_text() {
  if (!fs::exists(kSample)) return {};
  return file_read(kSample);
}

TEST(TaskMake, SameSeedSameItemsOtherSeedOtherItems) {
  const std::string text = sample_text();
  if (text.empty()) GTEST_SKIP() << "no " << kSample;
  TaskMakeOptions options;
  options.count = 30;
  options.seed = 7;
  for (auto make : {&task_make_cloze, &task_make_choice}) {
    const TaskSet a = make(text, options), b = make(text, options);
    ASSERT_EQ(a.items.size(), 30u);
    expect_items_equal(a, b);
    options.seed = 8;
    const TaskSet c = make(text, options);
    options.seed = 7;
    ASSERT_EQ(c.items.size(), 30u);
    bool differ = false;
    for (size_t i = 0; i < a.items.size(); ++i)
      differ = differ || a.items[i].prompt != c.items[i].prompt || a.items[i].context != c.items[i].context ||
               a.items[i].choices != c.items[i].choices;
    EXPECT_TRUE(differ) << task_kind_name(a.kind);
  }
}

// The lower-cased words of a text, punctuation stripped.
std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.insert(task_normalise_apply(w, TaskNormalise::Word));
  return words;
}

TEST(TaskMake, ClozeAnswerIsTheNextWordAndAppearsEarlier) {
  const std::string text = sample_text();
  if (text.empty()) GTEST_SKIP() << "no " << kSample;
  TaskMakeOptions options;
  options.count = 1000;
  options.max_chars = 600;
  const TaskSet set = task_make_cloze(text, options);
  EXPECT_EQ(set.kind, TaskKind::Generate);
  EXPECT_GT(set.items.size(), 20u);
  for (const TaskItem& item : set.items) {
    ASSERT_FALSE(item.answer.empty());
    EXPECT_LE(item.prompt.size(), 600u);
    EXPECT_TRUE(words_of(item.prompt).count(task_normalise_apply(item.answer, TaskNormalise::Word)))
        << item.answer << " not in: " << item.prompt;
    // In the text the answer follows the prompt, after whitespace or an opening quote, and ends its sentence.
    const size_t at = text.find(item.prompt);
    ASSERT_NE(at, std::string::npos) << item.prompt;
    size_t next = at + item.prompt.size();
    while (next < text.size() && std::isspace(static_cast<unsigned char>(text[next]))) ++next;
    EXPECT_EQ(text.compare(next, item.answer.size(), item.answer), 0) << item.prompt << " | " << item.answer;
    const char after = text[next + item.answer.size()];
    EXPECT_TRUE(std::ispunct(static_cast<unsigned char>(after)) || std::isspace(static_cast<unsigned char>(after)))
        << item.answer;
  }
}

TEST(TaskMake, ChoiceLabelPointsAtTheTrueNextSentence) {
  const std::string text = sample_text();
  if (text.empty()) GTEST_SKIP() << "no " << kSample;
  TaskMakeOptions options;
  options.count = 60;
  options.seed = 3;
  const TaskSet set = task_make_choice(text, options);
  EXPECT_EQ(set.kind, TaskKind::Choice);
  ASSERT_EQ(set.items.size(), 60u);
  std::set<int> labels;
  for (const TaskItem& item : set.items) {
    ASSERT_EQ(item.choices.size(), 4u);
    ASSERT_GE(item.label, 0);
    ASSERT_LT(item.label, 4);
    labels.insert(item.label);
    EXPECT_LE(item.context.size(), 1000u);
    EXPECT_TRUE(std::isspace(static_cast<unsigned char>(item.context.back()))) << item.context;
    const size_t at = text.find(item.context);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(text.compare(at + item.context.size(), item.choices[item.label].size(), item.choices[item.label]), 0)
        << item.context << " | " << item.choices[item.label];
    for (int k = 0; k < 4; ++k) {
      EXPECT_NE(text.find(item.choices[k]), std::string::npos);  // every choice is a sentence of the text
      if (k != item.label) EXPECT_NE(item.choices[k], item.choices[item.label]);
    }
  }
  EXPECT_EQ(labels.size(), 4u);  // the seed places the true sentence anywhere
}

TEST(TaskMake, RejectsWhatYieldsNothing) {
  TaskMakeOptions options;
  for (auto make : {&task_make_cloze, &task_make_choice}) {
    EXPECT_THROW(make("One short line.", options), Error);
    EXPECT_THROW(make("", options), Error);
    EXPECT_THROW(make("Bad \xff byte. The bad byte again. Bad.\n\nAnother document here.", options), Error);
  }
  // One document: no distractors from other documents.
  EXPECT_THROW(task_make_choice("The cat sat on the mat. The dog sat on the log. The bird sat on the tree.", options),
               Error);
  options.count = 0;
  EXPECT_THROW(task_make_cloze("The cat saw the cat.", options), Error);
  options.count = 5;
  // Sentences end at . ! ? and line breaks; "Mr." does not end one.
  const TaskSet set =
      task_make_cloze("Mr. Brown met Mr. Brown. Then he saw the dog and the dog!\nIt was the dog", options);
  ASSERT_EQ(set.items.size(), 3u);
  EXPECT_EQ(set.items[0].prompt, "Mr. Brown met Mr.");
  EXPECT_EQ(set.items[0].answer, "Brown");
  EXPECT_EQ(set.items[1].prompt, "Mr. Brown met Mr. Brown. Then he saw the dog and the");
  EXPECT_EQ(set.items[2].prompt, "Mr. Brown met Mr. Brown. Then he saw the dog and the dog!\nIt was the");
  EXPECT_EQ(set.items[2].answer, "dog");
}

// ---------------------------------------------------------------------------------------------------
// Scoring on a constructed model whose predictions are known exactly. Given the demo tokenizer and some
// "chains" of text, each chain token is a unit vector of the embedding and the head gives its successor
// in the chain a logit of kLogit and every other token 0 (the last token's successor is EOS); the
// decoder blocks are all zeros, so they pass the embedding through. Any other token embeds as zero and
// predicts uniformly. Greedy decoding continues a chain exactly, and every log-probability is known:
// about 0 for the successor, -kLogit - log(1 + 4095 e^-kLogit) for another token.

constexpr double kLogit = 20;

class ChainModel : public ::testing::Test {
 protected:
  void SetUp() override { skip_without_tokenizer(); tokenizer_ = Tokenizer::open(test::kTokenizer); }

  std::shared_ptr<Model> model(const std::vector<std::string>& chains, int64_t positions = 64) {
    ModelConfig c;
    c.vocab_size = tokenizer_->vocab_size();
    c.hidden_size = 64;
    c.intermediate_size = 32;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 1;
    c.head_dim = 16;
    c.max_position_embeddings = positions;
    c.tie_word_embeddings = false;
    c.bos_token_id = tokenizer_->bos_id();
    c.eos_token_id = tokenizer_->eos_id();
    auto state = std::make_shared<ModelState>();
    state->config = c;
    state->source = "chain-model";
    state->source_format = "hf";
    state->tokenizer = tokenizer_;
    for (const HfTensor& t : hf_layout(c)) {
      state->tensors[t.name] = t.kind == TensorKind::Norm ? torch::ones(t.shape) : torch::zeros(t.shape);
      state->stored_dtypes[t.name] = DType::F32;
    }
    torch::Tensor embed = state->tensors.at("model.embed_tokens.weight");
    torch::Tensor head = state->tensors.at("lm_head.weight");
    std::map<int, int> dimension, successor;
    for (const std::string& chain : chains) {
      const std::vector<int> ids = tokenizer_->encode(chain);
      for (size_t i = 0; i < ids.size(); ++i) {
        const int next = i + 1 < ids.size() ? ids[i + 1] : c.eos_token_id;
        const auto [it, fresh] = successor.emplace(ids[i], next);
        if (!fresh) ADD_FAILURE() << "token " << tokenizer_->piece(ids[i]) << " repeats in the chains";
        dimension.emplace(ids[i], static_cast<int>(dimension.size()));
      }
    }
    EXPECT_LE(dimension.size(), static_cast<size_t>(c.hidden_size));
    // RMSNorm scales a unit vector to sqrt(hidden).
    const double weight = kLogit / std::sqrt(static_cast<double>(c.hidden_size));
    for (const auto& [token, d] : dimension) {
      embed[token][d] = 1.0;
      head[successor.at(token)][d] = weight;
    }
    return std::make_shared<Model>(state);
  }

  std::shared_ptr<Tokenizer> tokenizer_;
};

// Words that the demo tokenizer keeps whole, so that no token repeats across the chains.
const std::string kChainA = "king house water great people land";
const std::string kChainB = "ship whale world law war peace city sea";

TEST_F(ChainModel, GreedyAnswersAreScoredUnderEachNormalisation) {
  const auto m = model({kChainA, kChainB});
  TaskSet set;
  set.name = "chain";
  set.items = {{.prompt = "king house", .answer = "water"},
               {.prompt = "ship whale world", .answer = "law"},
               {.prompt = "king", .answer = "land"}};  // wrong: the model says "house"
  TaskScore s = task_evaluate(*m, set);
  EXPECT_EQ(s.name, "chain");
  EXPECT_EQ(s.items, 3);
  EXPECT_EQ(s.correct, 2);
  EXPECT_EQ(s.item_correct, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(s.accuracy, 2.0 / 3);
  EXPECT_DOUBLE_EQ(s.standard_error, std::sqrt((2.0 / 3) * (1.0 / 3) / 2));

  // The continuation keeps its leading space: Exact fails where Trim passes; Word also ignores case and
  // punctuation at the ends.
  TaskEvalOptions options;
  set.items = {{.prompt = "king house", .answer = "water"}, {.prompt = "king house", .answer = "Water,"}};
  options.normalise = TaskNormalise::Exact;
  EXPECT_EQ(task_evaluate(*m, set, options).item_correct, (std::vector<uint8_t>{0, 0}));
  options.normalise = TaskNormalise::Trim;
  EXPECT_EQ(task_evaluate(*m, set, options).item_correct, (std::vector<uint8_t>{1, 0}));
  options.normalise = TaskNormalise::Word;
  EXPECT_EQ(task_evaluate(*m, set, options).item_correct, (std::vector<uint8_t>{1, 1}));
  set.items = {{.prompt = "king house", .answer = " water"}};
  options.normalise = TaskNormalise::Exact;
  EXPECT_EQ(task_evaluate(*m, set, options).correct, 1);
}

TEST_F(ChainModel, StopsAtStopStringsEosAndMaxNew) {
  const auto m = model({kChainA, kChainB});
  TaskSet set;
  set.name = "stops";
  TaskEvalOptions options;
  options.stop_at_word_end = false;
  options.normalise = TaskNormalise::Trim;
  // Without the word cut the chain runs to its end, where the model emits EOS.
  set.items = {{.prompt = "ship", .answer = "whale world law war peace city sea"},
               {.prompt = "king", .answer = "house water great people land"}};
  EXPECT_EQ(task_evaluate(*m, set, options).correct, 2);
  options.stop = {" war", " people"};  // the first stop string found cuts
  set.items = {{.prompt = "ship", .answer = "whale world law"}, {.prompt = "king", .answer = "house water great"}};
  EXPECT_EQ(task_evaluate(*m, set, options).correct, 2);
  options.stop = {"\n"};
  options.max_new = 2;
  set.items = {{.prompt = "ship", .answer = "whale world"}};
  EXPECT_EQ(task_evaluate(*m, set, options).correct, 1);
  options.max_items = 1;
  set.items.push_back({.prompt = "ship", .answer = "wrong"});
  const TaskScore s = task_evaluate(*m, set, options);
  EXPECT_EQ(s.items, 1);
  EXPECT_EQ(s.correct, 1);
  EXPECT_TRUE(std::isnan(s.standard_error));  // one item has no spread
}

TEST_F(ChainModel, LongPromptsKeepTheirLastTokens) {
  const auto m = model({kChainA + " " + kChainB}, 8);
  TaskSet set;
  set.name = "long";
  set.items = {{.prompt = "king house water great people land ship whale world law war", .answer = "peace"}};
  TaskEvalOptions options;
  options.max_new = 4;  // the prompt keeps its last 8 - 4 tokens
  EXPECT_EQ(task_evaluate(*m, set, options).correct, 1);
  options.max_new = 8;
  EXPECT_THROW(task_evaluate(*m, set, options), Error);
  set.kind = TaskKind::Choice;
  set.items = {{.context = "king house water great people land ship whale world law ",
                .choices = {"city sea", "war peace"},
                .label = 1}};
  EXPECT_EQ(task_evaluate(*m, set).correct, 1);
  set.items[0].choices = {"king house water great people land ship whale world", "war"};
  EXPECT_THROW(task_evaluate(*m, set), Error);  // 9 tokens do not fit
}

// Log-likelihood per byte of each choice, straight from one forward pass over BOS + context + choice.
std::vector<double> choice_scores_direct(const Model& m, const TaskItem& item) {
  const Tokenizer& tok = *m.state().tokenizer;
  std::vector<double> scores;
  for (const std::string& choice : item.choices) {
    const std::vector<int> context = tok.encode(item.context.substr(0, item.context.size() - 1));
    const std::vector<int> whole = tok.encode(item.context + choice);
    std::vector<int64_t> ids = {1};
    ids.insert(ids.end(), whole.begin(), whole.end());
    const torch::Tensor lp = torch::log_softmax(
        llama_forward(m.state(), torch::tensor(ids, torch::kInt64).view({1, -1}))[0], -1);
    double sum = 0;
    for (size_t t = context.size(); t < whole.size(); ++t) sum += lp[static_cast<int64_t>(t)][whole[t]].item<double>();
    scores.push_back(sum / static_cast<double>(choice.size() + 1));
  }
  return scores;
}

TEST_F(ChainModel, ChoicesAreRankedByLogLikelihoodPerByte) {
  const auto m = model({kChainA, kChainB});
  TaskSet set;
  set.name = "choices";
  set.kind = TaskKind::Choice;
  set.items = {
      // The true continuation against breaks of the chain.
      {.context = "king house ", .choices = {"land", "water great", "sea"}, .label = 1},
      // Per byte, not in total: "people" and "ship" each break the chain (about -20 apiece) but the
      // rest of the long choice continues chain B, against "land", one break in five bytes.
      {.context = "king house water ", .choices = {"land", "people ship whale world law war peace city sea"},
       .label = 1},
      // No separator is inserted: here the choices carry it.
      {.context = "ship whale world", .choices = {" law war", " king house"}, .label = 0},
  };
  const TaskScore s = task_evaluate(*m, set);
  EXPECT_EQ(s.item_correct, (std::vector<uint8_t>{1, 1, 1}));
  // The per-byte rule is what decides item 1: the total log-likelihood would pick "land".
  const std::vector<double> direct = choice_scores_direct(*m, set.items[1]);
  EXPECT_GT(direct[1], direct[0]);
  EXPECT_GT(direct[0] * 5, direct[1] * 47);
  EXPECT_NEAR(direct[0] * 5, -kLogit, 0.5);
  EXPECT_NEAR(direct[1] * 47, -2 * kLogit, 1.0);
  // A wrong label counts as wrong.
  set.items[0].label = 0;
  EXPECT_EQ(task_evaluate(*m, set).item_correct, (std::vector<uint8_t>{0, 1, 1}));
}

TEST_F(ChainModel, StandardErrorAndCancellation) {
  const auto m = model({kChainA});
  TaskSet set;
  set.name = "ten";
  for (int i = 0; i < 10; ++i) set.items.push_back({.prompt = "king", .answer = i < 7 ? "house" : "water"});
  const TaskScore s = task_evaluate(*m, set);
  EXPECT_EQ(s.correct, 7);
  EXPECT_DOUBLE_EQ(s.standard_error, std::sqrt(0.7 * 0.3 / 9));
  EXPECT_GE(s.seconds, 0.0);

  int reports = 0;
  std::shared_ptr<Job> job;
  job = std::make_shared<Job>("", "tasks", [&](JobContext& context) { task_evaluate(*m, set, {}, &context); },
                              [&](const Job& j) {
                                if (j.state() == JobState::Running && j.progress() > 0 && reports++ == 2)
                                  job->cancel();
                              });
  job->execute();
  EXPECT_EQ(job->state(), JobState::Cancelled);
}

// ---------------------------------------------------------------------------------------------------
// The demo model on its bundled task files.

TEST(TaskDemo, ChoiceAccuracyIsAboveChance) {
  const fs::path file = fs::path(QS_SOURCE_DIR) / "resources/tasks/demo-choice.jsonl";
  const fs::path demo = fs::path(QS_SOURCE_DIR) / "resources/models/demo";
  if (!fs::exists(file) || !fs::exists(demo / "model.safetensors")) GTEST_SKIP() << "no demo model or task file";
  const auto model = model_load(demo);
  const TaskSet set = task_file_load(file);
  EXPECT_EQ(set.kind, TaskKind::Choice);
  EXPECT_EQ(set.items.size(), 200u);
  TaskEvalOptions options;
  options.max_items = 60;
  const TaskScore s = task_evaluate(*model, set, options);
  EXPECT_EQ(s.items, 60);
  // Chance is 1/4; see docs/tasks.md for the measured accuracy on all 200 items.
  EXPECT_GT(s.accuracy, 0.45) << s.correct << " of " << s.items;
}

}  // namespace
}  // namespace qs
