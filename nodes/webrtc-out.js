module.exports = require("../dist/src/nodes/webrtc-out.js");
