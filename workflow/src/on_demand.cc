#include "pitstore/workflow/on_demand.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "pitstore/io/timestamps.h"

namespace pitstore::workflow {

Result<OnDemandPlan> OnDemandPlan::Make(Store& store, const std::vector<FeatureRef>& refs) {
  OnDemandPlan plan;
  plan.stored_index_.assign(refs.size(), -1);
  std::map<std::string, OnDemandViewDef> views;  // the on-demand views requested, read once each
  auto stored_index_of = [&](const std::string& view, const std::string& feature) {
    for (size_t i = 0; i < plan.stored_.size(); ++i)
      if (plan.stored_[i].view == view && plan.stored_[i].feature == feature) return i;
    plan.stored_.push_back({view, feature, view + "__" + feature});
    return plan.stored_.size() - 1;
  };
  // The requested stored features first, in request order.
  for (size_t p = 0; p < refs.size(); ++p) {
    if (refs[p].on_demand) continue;
    plan.stored_.push_back(refs[p]);
    plan.stored_index_[p] = static_cast<int>(plan.stored_.size() - 1);
  }
  for (size_t p = 0; p < refs.size(); ++p) {
    const FeatureRef& ref = refs[p];
    if (!ref.on_demand) continue;
    auto it = views.find(ref.view);
    if (it == views.end()) {
      PITSTORE_ASSIGN_OR_RETURN(OnDemandViewDef def, store.GetOnDemandView(ref.view));
      it = views.emplace(ref.view, std::move(def)).first;
    }
    const OnDemandViewDef& view = it->second;
    const OnDemandFeatureDef* feature = nullptr;
    for (const OnDemandFeatureDef& f : view.features)
      if (f.name == ref.feature) feature = &f;
    if (!feature) return Status::NotFound("on-demand view '" + ref.view + "' has no feature '" + ref.feature + "'");
    // Compiled against the store as it is now: Apply checked it, so an error here means the
    // sources changed since (a view dropped and defined again) and is reported as it is.
    auto resolve = [&](const std::string& name, ExpressionInput* out) -> Status {
      for (const RequestInputDef& in : view.request)
        if (in.name == name) {
          out->type = in.type;
          out->dim = in.dim;
          return Status::OK();
        }
      size_t dot = name.rfind('.');
      if (dot == std::string::npos) return Status::NotFound("no request input '" + name + "'");
      PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef source, store.GetView(name.substr(0, dot)));
      for (const FeatureDef& f : source.features)
        if (f.name == name.substr(dot + 1)) {
          out->type = f.type;
          out->dim = f.dim;
          return Status::OK();
        }
      return Status::NotFound("view '" + source.name + "' has no feature '" + name.substr(dot + 1) + "'");
    };
    auto expression = Expression::Compile(feature->expression, resolve);
    if (!expression.ok())
      return Status::InvalidArgument("on-demand feature '" + ref.Ref() + "': " + expression.status().message());
    Computed c{p, *expression, {ref.feature, expression->type(), expression->dim(), feature->description}, {}, {}, {}};
    for (const ExpressionInput& in : expression->inputs()) {
      const RequestInputDef* request = nullptr;
      for (const RequestInputDef& r : view.request)
        if (r.name == in.name) request = &r;
      if (request) {
        auto have = std::find_if(plan.request_inputs_.begin(), plan.request_inputs_.end(),
                                 [&](const RequestInputDef& r) { return r.name == in.name; });
        if (have == plan.request_inputs_.end()) {
          plan.request_inputs_.push_back(*request);
          have = plan.request_inputs_.end() - 1;
        } else if (have->type != request->type || have->dim != request->dim) {
          return Status::InvalidArgument("request input '" + in.name + "' is " +
                                         ExpressionTypeName(have->type, have->dim) + " in one on-demand view and " +
                                         ExpressionTypeName(request->type, request->dim) + " in '" + view.name + "'");
        }
        c.input_index.push_back(static_cast<size_t>(have - plan.request_inputs_.begin()));
        c.from_request.push_back(1);
        continue;
      }
      size_t dot = in.name.rfind('.');
      size_t s = stored_index_of(in.name.substr(0, dot), in.name.substr(dot + 1));
      c.input_index.push_back(s);
      c.from_request.push_back(0);
      c.sources.push_back(s);
    }
    plan.computed_.push_back(std::move(c));
  }
  return plan;
}

const OnDemandPlan::Computed& OnDemandPlan::Find(size_t position) const {
  for (const Computed& c : computed_)
    if (c.position == position) return c;
  return computed_.front();  // not reached: callers ask for the positions stored_index() marks -1
}

FeatureDef OnDemandPlan::TypeOf(size_t position) const { return Find(position).def; }

const std::vector<size_t>& OnDemandPlan::SourcesOf(size_t position) const { return Find(position).sources; }

std::vector<Value> OnDemandPlan::Compute(size_t position, size_t rows,
                                         const std::function<Value(size_t, size_t)>& stored_value,
                                         const std::vector<std::vector<Value>>& request,
                                         const std::function<Timestamp(size_t)>& now) const {
  const Computed& c = Find(position);
  std::vector<Value> inputs(c.input_index.size());
  std::vector<Value> out;
  out.reserve(rows);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (c.from_request[k]) {
        const std::vector<Value>& values = request[c.input_index[k]];
        inputs[k] = values.size() == 1 ? values[0] : values[row];
      } else {
        inputs[k] = stored_value(c.input_index[k], row);
      }
    }
    out.push_back(c.expression.Evaluate(inputs.data(), now(row)));
  }
  return out;
}

Result<Column> OnDemandPlan::ComputeColumns(size_t position, size_t rows, const std::vector<Column>& stored,
                                            const std::vector<Column>& request,
                                            const std::vector<Timestamp>& now) const {
  const Computed& c = Find(position);
  std::vector<const Column*> inputs;
  for (size_t k = 0; k < c.input_index.size(); ++k)
    inputs.push_back(c.from_request[k] ? &request[c.input_index[k]] : &stored[c.input_index[k]]);
  Column out = Column::Of(c.def.type, c.def.dim);
  PITSTORE_RETURN_IF_ERROR(c.expression.EvaluateColumns(inputs, rows, now, &out));
  return out;
}

Result<std::shared_ptr<const OnDemandPlan>> OnDemandPlanCache::Get(Store& store, const std::vector<FeatureRef>& refs) {
  if (std::none_of(refs.begin(), refs.end(), [](const FeatureRef& r) { return r.on_demand; }))
    return std::shared_ptr<const OnDemandPlan>();  // stored features alone: nothing to plan
  std::string key;
  for (const FeatureRef& r : refs) key += r.Ref() + (r.on_demand ? '\x01' : '\x02');
  uint64_t seq;
  {
    PITSTORE_ASSIGN_OR_RETURN(auto snapshot, store.GetSnapshot());
    seq = snapshot->commit_seq();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it != plans_.end() && it->second.first == seq) return it->second.second;
  }
  PITSTORE_ASSIGN_OR_RETURN(OnDemandPlan plan, OnDemandPlan::Make(store, refs));
  auto shared = std::make_shared<const OnDemandPlan>(std::move(plan));
  std::lock_guard<std::mutex> lock(mu_);
  if (plans_.size() > max_plans_) plans_.clear();
  plans_[key] = {seq, shared};
  return shared;
}

Result<Value> RequestValueFromText(const RequestInputDef& input, const std::string& text) {
  auto wrong = [&](const std::string& want) {
    return Status::InvalidArgument("request input '" + input.name + "' (" + ExpressionTypeName(input.type, input.dim) +
                                   "): expected " + want + ", got '" + text + "'");
  };
  const char* b = text.data();
  const char* e = b + text.size();
  switch (input.type) {
    case FeatureType::kBool:
      if (text == "true") return Value::Bool(true);
      if (text == "false") return Value::Bool(false);
      return wrong("true or false");
    case FeatureType::kInt32:
    case FeatureType::kInt64: {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (text.empty() || r.ec != std::errc() || r.ptr != e) return wrong("an integer");
      return Value::Int64(v);
    }
    case FeatureType::kFloat32:
    case FeatureType::kFloat64: {
      double v = 0;
      auto r = std::from_chars(b, e, v);
      if (text.empty() || r.ec != std::errc() || r.ptr != e) return wrong("a number");
      return Value::Float64(v);
    }
    case FeatureType::kString:
      return Value::String(text);
    case FeatureType::kTimestamp: {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (!text.empty() && r.ec == std::errc() && r.ptr == e) return Value::Time(v);
      Timestamp t = 0;
      std::string why = io::ParseTimestampWhy(text, &t);
      if (!why.empty()) return wrong("an RFC 3339 time with an offset or integer microseconds (" + why + ")");
      return Value::Time(t);
    }
    case FeatureType::kFloat32Vector: {
      std::vector<float> v;
      size_t i = 0;
      auto space = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      };
      space();
      if (i == text.size() || text[i] != '[') return wrong("a list of numbers like [1, 2.5]");
      ++i;
      space();
      bool closed = i < text.size() && text[i] == ']';
      if (closed) ++i;
      while (!closed) {
        space();
        double d = 0;
        auto r = std::from_chars(b + i, e, d);
        if (r.ec != std::errc()) return wrong("a list of numbers like [1, 2.5]");
        v.push_back(static_cast<float>(d));
        i = static_cast<size_t>(r.ptr - b);
        space();
        if (i < text.size() && text[i] == ',') {
          ++i;
          continue;
        }
        if (i < text.size() && text[i] == ']') {
          ++i;
          closed = true;
          break;
        }
        return wrong("a list of numbers like [1, 2.5]");
      }
      space();
      if (i != text.size()) return wrong("a list of numbers like [1, 2.5]");
      if (v.size() != input.dim)
        return wrong(std::to_string(input.dim) + " numbers (got " + std::to_string(v.size()) + ")");
      return Value::Vector(std::move(v));
    }
    default:
      return wrong("a type expressions read");
  }
}

Result<Value> RequestValueFromField(const RequestInputDef& input, const io::Field& f) {
  if (f.kind == io::Field::kNull || f.kind == io::Field::kMissing) return Value::Null();
  if (f.typed == io::Field::kIntValue) {
    switch (input.type) {
      case FeatureType::kBool:
        if (f.kind == io::Field::kBool) return Value::Bool(f.int_value != 0);
        break;
      case FeatureType::kTimestamp:
        return Value::Time(f.int_value);
      case FeatureType::kInt32:
      case FeatureType::kInt64:
        if (f.kind != io::Field::kBool) return Value::Int64(f.int_value);
        break;
      case FeatureType::kFloat32:
      case FeatureType::kFloat64:
        if (f.kind != io::Field::kBool) return Value::Float64(static_cast<double>(f.int_value));
        break;
      default:
        break;
    }
    return RequestValueFromText(
        input, f.kind == io::Field::kBool ? (f.int_value ? "true" : "false") : std::to_string(f.int_value));
  }
  if (f.typed == io::Field::kDoubleValue) {
    if (input.type == FeatureType::kFloat64 || input.type == FeatureType::kFloat32)
      return Value::Float64(f.double_value);
    char text[32];
    auto end = std::to_chars(text, text + sizeof text, f.double_value).ptr;  // the shortest that reads back
    return RequestValueFromText(input, std::string(text, end));
  }
  return RequestValueFromText(input, f.text);
}

}  // namespace pitstore::workflow
