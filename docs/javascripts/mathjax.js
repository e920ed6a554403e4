// MathJax settings for pymdownx.arithmatex (generic mode): $...$ inline, $$...$$ display.
//
// The renderer itself is MathJax 3's complete bundle, shipped with the docs in
// javascripts/mathjax/ (see its README.md): every TeX extension (boldsymbol, ams, ...) is
// compiled in, so nothing is fetched at view time and the pages render without network access.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    // Loading extensions on first use would fetch them while typesetting; the full bundle has
    // them all, so resolving macros is synchronous and cannot race the first typeset. Without
    // noundefined/noerrors an unknown macro or a TeX error becomes a marked error node (not red
    // text or the bare source), which the docs' browser test finds.
    packages: { "[-]": ["autoload", "require", "noundefined", "noerrors"] }
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  },
  startup: {
    ready() {
      MathJax.startup.defaultReady();
      if (typeof document$ === "undefined") return;
      // MathJax typesets the page it starts on. Material's instant navigation (if enabled)
      // swaps in later pages without a reload: typeset those after the previous typeset ends,
      // never concurrently with it.
      let first = true;
      document$.subscribe(() => {
        if (first) {
          first = false;
          return;
        }
        MathJax.startup.promise = MathJax.startup.promise.then(() => {
          MathJax.startup.output.clearCache();
          MathJax.typesetClear();
          MathJax.texReset();
          return MathJax.typesetPromise();
        });
      });
    }
  }
};
