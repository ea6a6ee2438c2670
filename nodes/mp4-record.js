module.exports = require("../dist/src/nodes/mp4-record.js");
