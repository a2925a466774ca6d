// "Check my notebook" for JupyterLab 4, written by hand as a federated
// extension container (the object a webpack build would produce:
// init(shareScope) and get("./extension")), so the course needs no Node
// build step. The plugin saves the notebook, asks this server's extension
// (course_lib.checkclient, POST <base>/course-check/api/check) to forward it
// to the course's check service, and shows the predicted score and feedback.
var _JUPYTERLAB;
(function () {
  "use strict";
  var NAME = "course-check";
  var COMMAND = "course-check:check";
  var shared = null;

  function pageOption(name) {
    var el = document.getElementById("jupyter-config-data");
    var data = el ? JSON.parse(el.textContent || "{}") : {};
    return data[name] || "";
  }

  function xsrfToken() {
    var match = document.cookie.match("\\b_xsrf=([^;]*)\\b");
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The ICommandPalette token of the running app, from the shared modules.
  function sharedModule(pkg) {
    var versions = shared && shared[pkg];
    if (!versions) { return Promise.resolve(null); }
    var keys = Object.keys(versions);
    if (!keys.length) { return Promise.resolve(null); }
    return Promise.resolve(versions[keys[0]].get()).then(function (factory) {
      return factory();
    }).catch(function () { return null; });
  }

  function currentNotebook(app) {
    var widget = app.shell.currentWidget;
    var context = widget && widget.context;
    if (!context || !/\.ipynb$/.test(context.path)) { return null; }
    return widget;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function showPanel(title, body, isError) {
    var old = document.getElementById("course-check-result");
    if (old) { old.remove(); }
    var box = el("div", {
      id: "course-check-result", role: "dialog", "aria-label": "Check my notebook",
      "data-state": isError ? "error" : "done",
      style: "position:fixed;z-index:10000;top:8%;left:15%;right:15%;max-height:80%;" +
        "overflow:auto;background:var(--jp-layout-color1,#fff);color:var(--jp-ui-font-color1,#000);" +
        "border:1px solid var(--jp-border-color1,#888);box-shadow:0 4px 24px rgba(0,0,0,.3);" +
        "padding:16px 20px;font-family:var(--jp-ui-font-family,sans-serif)"
    });
    var head = el("h3", { "class": "course-check-title", style: "margin-top:0" }, title);
    var close = el("button", { "class": "course-check-close", style: "float:right" }, "Close");
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    box.appendChild(head);
    box.appendChild(body);
    document.body.appendChild(box);
    return box;
  }

  function resultBody(result) {
    var body = el("div", { "class": "course-check-body" });
    body.appendChild(el("p", { "class": "course-check-score" },
      "Predicted score: " + result.score + " / " + result.max_score +
      " (automatically graded items; hidden inputs are new for every check)"));
    (result.items || []).forEach(function (item) {
      body.appendChild(el("h4", { style: "margin-bottom:2px" },
        "[" + item.score + " / " + item.max_score + "] " + item.name));
      body.appendChild(el("pre", { style: "white-space:pre-wrap;margin-top:0" }, item.feedback));
    });
    if (result.note) { body.appendChild(el("p", {}, result.note)); }
    return body;
  }

  function check(app) {
    var panel = currentNotebook(app);
    if (!panel) {
      showPanel("Check my notebook", el("p", {}, "Open an assignment notebook first."), true);
      return Promise.resolve();
    }
    var waiting = showPanel("Checking " + panel.context.path + " ...",
      el("p", { "class": "course-check-body" },
        "Your solution cells are being graded on the course's server."), false);
    waiting.setAttribute("data-state", "running");
    // save unsaved changes only: a second save while one is under way would
    // find the file "changed on disk" and ask the student what to do
    var saved = panel.context.model.dirty ? panel.context.save() : Promise.resolve();
    return saved.then(function () {
      return fetch(pageOption("baseUrl").replace(/\/?$/, "/") + "course-check/api/check", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-XSRFToken": xsrfToken() },
        body: JSON.stringify({ path: panel.context.path })
      });
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.message || ("HTTP " + response.status)); }
        return data;
      });
    }).then(function (result) {
      showPanel("Check my notebook: " + result.assignment, resultBody(result), false);
    }).catch(function (err) {
      showPanel("Check my notebook: not done", el("p", { "class": "course-check-body" },
        String(err.message || err)), true);
    });
  }

  function makePlugin(apputils) {
    var palette = apputils && apputils.ICommandPalette;
    return {
      id: NAME + ":plugin",
      autoStart: true,
      requires: [],
      optional: palette ? [palette] : [],
      activate: function (app, paletteInstance) {
        app.commands.addCommand(COMMAND, {
          label: "Check my notebook",
          caption: "Grade the saved notebook on the course's server: predicted score and feedback",
          // always enabled: a toolbar button is drawn before its notebook is
          // the current widget and would stay greyed out; execute() says
          // what to do when no notebook is open
          execute: function () { return check(app); }
        });
        if (paletteInstance) {
          paletteInstance.addItem({ command: COMMAND, category: "Course" });
        }
      }
    };
  }

  _JUPYTERLAB = _JUPYTERLAB || {};
  _JUPYTERLAB[NAME] = {
    init: function (shareScope) { shared = shareScope; return Promise.resolve(); },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error(NAME + " has no module " + module));
      }
      return sharedModule("@jupyterlab/apputils").then(function (apputils) {
        var plugins = [makePlugin(apputils)];
        return function () { return { __esModule: true, "default": plugins }; };
      });
    }
  };
})();
