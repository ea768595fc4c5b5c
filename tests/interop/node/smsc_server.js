#!/usr/bin/env node
// An independent SMSC for the client's interop tests: node's `smpp` package, server side.
//   node smsc_server.js --port 0 --fault none|throttle|invdstadr|qfull|refuse-bind
// Prints {"event":"listening","port":P} once listening, then one JSON line per event it saw
// (bind, submit_sm, deliver_sm_resp, unbind). On "deliver" from stdin (a line "deliver <id>")
// it sends a delivery receipt for message <id> to every bound receiving session.
'use strict';
const smpp = require('smpp');
const readline = require('readline');
const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const port = parseInt(a.port || '0', 10);
const fault = a.fault || 'none';
const sessions = new Set();
let n = 0;
function emit(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

const server = smpp.createServer((session) => {
  session.on('error', () => {});
  const bind = (pdu) => {
    emit({ event: 'bind', command: pdu.command, system_id: pdu.system_id, password: pdu.password,
      system_type: pdu.system_type, interface_version: pdu.interface_version });
    if (fault === 'refuse-bind') {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      session.close();
      return;
    }
    session.send(pdu.response({ system_id: 'nodesmsc' }));
    if (pdu.command !== 'bind_transmitter') sessions.add(session);
  };
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('bind_receiver', bind);
  session.on('submit_sm', (pdu) => {
    n++;
    emit({ event: 'submit_sm', n, source_addr: pdu.source_addr, source_addr_ton: pdu.source_addr_ton,
      source_addr_npi: pdu.source_addr_npi, destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton, dest_addr_npi: pdu.dest_addr_npi, esm_class: pdu.esm_class,
      validity_period: pdu.validity_period ? String(pdu.validity_period) : '' });
    let status = 0;
    if (fault === 'throttle' && n === 1) status = smpp.ESME_RTHROTTLED;
    if (fault === 'invdstadr') status = smpp.ESME_RINVDSTADR;
    if (fault === 'qfull' && n === 1) status = smpp.ESME_RMSGQFUL;
    if (status) session.send(pdu.response({ command_status: status }));
    else session.send(pdu.response({ message_id: 'node' + n }));
  });
  session.on('deliver_sm_resp', (pdu) => emit({ event: 'deliver_sm_resp', status: pdu.command_status, seq: pdu.sequence_number }));
  session.on('generic_nack', (pdu) => emit({ event: 'generic_nack', status: pdu.command_status }));
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { emit({ event: 'unbind' }); session.send(pdu.response()); session.close(); sessions.delete(session); });
  session.on('close', () => sessions.delete(session));
});
server.listen(port, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, id] = line.trim().split(/\s+/);
  if (cmd !== 'deliver') return;
  for (const s of sessions) {
    s.deliver_sm({
      source_addr: '79001234567', destination_addr: 'Devino', esm_class: 4,
      short_message: 'id:' + id + ' sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:',
      receipted_message_id: id, message_state: 2,
    });
  }
});
process.on('SIGTERM', () => { server.close(); process.exit(0); });
