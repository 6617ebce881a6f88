// SVG histograms of feature summaries (feature_report.h). Plain SVG 1.1 text: no fonts or
// scripts to fetch, readable by any browser and image viewer.
#include "pitstore/workflow/feature_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pitstore::workflow {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Each bin's share of the summary's finite values; the first and last bins take what lies
// below and above the range.
std::vector<double> Shares(const FeatureSummary& s, double lo, double hi, int bins) {
  std::vector<double> out(bins, 0.0);
  if (s.finite() == 0) return out;
  double prev = 0;
  for (int b = 0; b < bins; ++b) {
    const double cdf = b == bins - 1 ? 1.0 : s.sketch.Cdf(lo + (hi - lo) * (b + 1) / bins);
    out[b] = std::max(0.0, cdf - prev);
    prev = cdf;
  }
  return out;
}

}  // namespace

const char* DriftVerdict(double psi) {
  if (std::isnan(psi)) return "n/a";
  return psi < 0.1 ? "stable" : psi < 0.25 ? "moderate" : "large";
}

std::string HistogramSvg(const std::vector<FeatureSummary>& first, const std::vector<FeatureSummary>* second,
                         const HistogramOptions& options) {
  const int bins = std::max(1, options.bins);
  const int columns = std::min<int>(3, std::max<int>(1, static_cast<int>(first.size())));
  const int panel_w = 320, panel_h = 210, top = 56;
  const int rows = (static_cast<int>(first.size()) + columns - 1) / columns;
  const int width = columns * panel_w, height = top + rows * panel_h + 8;
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
                    "fill=\"white\"/>\n";
  svg += "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" + Escape(options.title) + "</text>\n";
  svg += "<rect x=\"10\" y=\"32\" width=\"12\" height=\"10\" fill=\"#9aa5b1\"/><text x=\"26\" y=\"41\">" +
         Escape(options.first_label) + "</text>\n";
  if (second) {
    const std::string x = std::to_string(50 + 7 * static_cast<int>(options.first_label.size()));
    const std::string tx = std::to_string(66 + 7 * static_cast<int>(options.first_label.size()));
    svg += "<rect x=\"" + x + "\" y=\"32\" width=\"12\" height=\"10\" fill=\"#1f77b4\" fill-opacity=\"0.55\"/>" +
           "<text x=\"" + tx + "\" y=\"41\">" + Escape(options.second_label) + "</text>\n";
  }
  for (size_t i = 0; i < first.size(); ++i) {
    const FeatureSummary& a = first[i];
    const FeatureSummary* b = second && i < second->size() ? &(*second)[i] : nullptr;
    const int x0 = static_cast<int>(i % columns) * panel_w, y0 = top + static_cast<int>(i / columns) * panel_h;
    const int plot_x = x0 + 12, plot_y = y0 + 48, plot_w = panel_w - 28, plot_h = panel_h - 80;
    std::string title =
        a.feature + (a.measure == FeatureSummary::Measure::kValue ? std::string()
                                                                  : std::string(" (") + MeasureName(a.measure) + ")");
    // "n=290/555  nulls=0/0  mean=0.49/0.48": the first window's, then the second's.
    auto pair = [&](const std::string& first_text, const std::string& second_text) {
      std::string out = first_text;
      if (b) out.append("/").append(second_text);
      return out;
    };
    std::string sub = "n=";
    sub.append(pair(std::to_string(a.finite()), b ? std::to_string(b->finite()) : ""));
    sub.append("  nulls=").append(pair(std::to_string(a.nulls), b ? std::to_string(b->nulls) : ""));
    if (a.finite()) sub.append("  mean=").append(pair(Num(a.mean), b ? Num(b->mean) : ""));
    std::string drift;
    if (b) {
      const double psi = PopulationStabilityIndex(a, *b);
      drift = "PSI " + (std::isnan(psi) ? std::string("n/a") : Num(psi)) + ": " + DriftVerdict(psi);
    }
    svg += "<g>\n<text x=\"" + std::to_string(x0 + 10) + "\" y=\"" + std::to_string(y0 + 14) +
           "\" font-weight=\"bold\">" + Escape(title) + "</text>\n<text x=\"" + std::to_string(x0 + 10) + "\" y=\"" +
           std::to_string(y0 + 27) + "\" fill=\"#444\">" + Escape(sub) + "</text>\n<text x=\"" +
           std::to_string(x0 + 10) + "\" y=\"" + std::to_string(y0 + 40) + "\" fill=\"#444\">" + Escape(drift) +
           "</text>\n";
    svg += "<line x1=\"" + std::to_string(plot_x) + "\" y1=\"" + std::to_string(plot_y + plot_h) + "\" x2=\"" +
           std::to_string(plot_x + plot_w) + "\" y2=\"" + std::to_string(plot_y + plot_h) + "\" stroke=\"#333\"/>\n";
    if (a.finite() == 0 && (!b || b->finite() == 0)) {
      svg += "<text x=\"" + std::to_string(plot_x + 8) + "\" y=\"" + std::to_string(plot_y + plot_h / 2) +
             "\" fill=\"#888\">no finite values</text>\n</g>\n";
      continue;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (const FeatureSummary* s : {&a, b}) {
      if (!s || s->finite() == 0) continue;
      const double q_lo = s->Quantile(0.005), q_hi = s->Quantile(0.995);  // NaN for timestamps: the range
      lo = std::min(lo, std::isnan(q_lo) ? s->min : q_lo);
      hi = std::max(hi, std::isnan(q_hi) ? s->max : q_hi);
    }
    if (!(hi > lo)) lo -= 0.5, hi += 0.5;
    const std::vector<double> sa = Shares(a, lo, hi, bins);
    const std::vector<double> sb = b ? Shares(*b, lo, hi, bins) : std::vector<double>();
    double top_share = 1e-12;
    for (double v : sa) top_share = std::max(top_share, v);
    for (double v : sb) top_share = std::max(top_share, v);
    const double bar_w = static_cast<double>(plot_w) / bins;
    auto bars = [&](const std::vector<double>& shares, const char* style) {
      for (int k = 0; k < bins; ++k) {
        if (shares[k] <= 0) continue;
        const double h = shares[k] / top_share * plot_h;
        char rect[256];
        std::snprintf(rect, sizeof rect, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>\n",
                      plot_x + k * bar_w, plot_y + plot_h - h, std::max(0.5, bar_w - 1), h, style);
        svg += rect;
      }
    };
    bars(sa, "fill=\"#9aa5b1\"");
    if (b) bars(sb, "fill=\"#1f77b4\" fill-opacity=\"0.55\"");
    const std::string axis_y = std::to_string(plot_y + plot_h + 14);
    svg += "<text x=\"" + std::to_string(plot_x) + "\" y=\"" + axis_y + "\">" + Num(lo) + "</text>\n";
    svg += "<text x=\"" + std::to_string(plot_x + plot_w) + "\" y=\"" + axis_y + "\" text-anchor=\"end\">" + Num(hi) +
           "</text>\n";
    svg += "<text x=\"" + std::to_string(plot_x + plot_w / 2) + "\" y=\"" + axis_y +
           "\" text-anchor=\"middle\" fill=\"#666\">tallest bar " + Num(top_share * 100) + "%</text>\n</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace pitstore::workflow
