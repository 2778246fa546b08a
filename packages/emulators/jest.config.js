module.exports = require('@local/durable-runtime/jest-project')('emulators', __dirname);
