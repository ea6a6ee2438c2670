module.exports = require("../dist/src/nodes/rtsp-in.js");
