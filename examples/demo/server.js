// `npm start`: the demo on http://127.0.0.1:3000 (PORT to change it), with
// the inspector on (WSSTACK_INSPECTOR=0 to run it without).
'use strict';
const { createApp } = require('./app');

const port = Number(process.env.PORT || 3000);
const inspector = process.env.WSSTACK_INSPECTOR !== '0';
const server = createApp({ inspector }).listen(port, '127.0.0.1', () => {
  console.log(`wsstack demo: http://127.0.0.1:${server.address().port}${inspector ? ' (inspector on)' : ''}`);
});
