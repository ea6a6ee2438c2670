// Node-RED settings for `npm run demo`: the defaults, without the first-run questions.
module.exports = {
  flowFile: "flows.json",
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
