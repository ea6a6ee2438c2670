module.exports = require("../dist/src/nodes/rtp-fanout.js");
