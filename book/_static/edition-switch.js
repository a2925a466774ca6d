// The switch between the English and the Chinese edition (the link is put in
// the article header by book/_ext/edition_switch.py). Both editions have the
// same headings in the same order, so a section is named by its position:
// clicking the switch opens the other page at #edition-section-N, and the
// other page scrolls to its N-th section and puts that section's id in the URL.
(() => {
  "use strict";
  const PREFIX = "edition-section-";
  const sections = () => [...document.querySelectorAll("article.bd-article section")];

  // The section the reader is in: the one the URL points into, else the last
  // one whose heading is above the upper third of the window (the page
  // scrolls headings to below the theme's sticky header, not to the top).
  function currentSection() {
    const all = sections();
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    const inside = target && target.closest("article.bd-article section");
    if (inside && !(id.startsWith(PREFIX))) return all.indexOf(inside);
    let index = 0;
    all.forEach((section, i) => {
      const heading = section.querySelector("h1, h2, h3, h4, h5, h6");
      if (heading && heading.getBoundingClientRect().top <= window.innerHeight / 3) index = i;
    });
    return index;
  }

  // Returns the section landed on, or null when the URL names no position.
  function landOnSection() {
    const match = location.hash.match(new RegExp("^#" + PREFIX + "(\\d+)$"));
    const section = match && sections()[Number(match[1])];
    if (!section) return null;
    history.replaceState(null, "", "#" + section.id);
    section.scrollIntoView();
    return section;
  }

  function setUp() {
    document.querySelectorAll("a[data-edition-switch]").forEach((link) => {
      link.addEventListener("click", () => {
        const url = new URL(link.getAttribute("href"), location.href);
        if (/(^|\/)search\.html$/.test(url.pathname)) url.search = location.search;
        const index = currentSection();
        url.hash = index > 0 ? PREFIX + index : "";
        link.href = url.href;  // the browser follows the updated link
      });
    });
    const landed = landOnSection();
    // Figures above the section may load later and push it down: land again.
    if (landed && document.readyState !== "complete")
      window.addEventListener("load", () => landed.scrollIntoView(), {once: true});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
