#!/usr/bin/env node
// An independent ESME for the front door's interop tests: node's `smpp` package, client side.
//   node esme_client.js --port P --system_id ID --password PW --count N [--text T] [--split 1]
// Binds as transceiver, submits N single messages (registered_delivery 1), answers every
// deliver_sm with status 0, prints one JSON line per event (bind_resp, submit_sm_resp,
// deliver_sm) and exits after an unbind once every receipt came. With --split 1 it sends
// instead two messages it split itself (6-octet UDH): a UCS2 one and a GSM one, two parts
// each (N is then the 4 receipts to wait for).
'use strict';
const smpp = require('smpp');
const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const count = parseInt(a.count || '1', 10);
function emit(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

const session = smpp.connect({ url: `smpp://127.0.0.1:${a.port}`, auto_enquire_link_period: 10000 });
session.on('error', (e) => { emit({ event: 'error', message: String(e) }); process.exit(1); });
let receipts = 0;
session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  const id = pdu.receipted_message_id ? String(pdu.receipted_message_id) : null;
  emit({ event: 'deliver_sm', esm_class: pdu.esm_class, receipted_message_id: id,
    text: Buffer.isBuffer(pdu.short_message) ? pdu.short_message.toString('latin1')
      : (pdu.short_message && pdu.short_message.message) || String(pdu.short_message) });
  receipts += 1;
  if (receipts >= count) session.unbind(() => { emit({ event: 'unbound' }); session.close(); });
});
session.bind_transceiver({ system_id: a.system_id, password: a.password }, (pdu) => {
  emit({ event: 'bind_resp', command_status: pdu.command_status, system_id: pdu.system_id });
  if (pdu.command_status !== 0) { session.close(); return; }
  if (a.split) {
    const ucs2 = Buffer.from('Я'.repeat(66) + 'Ж'.repeat(10), 'utf16le').swap16();
    const gsm = Buffer.from('A'.repeat(153) + 'B'.repeat(20), 'latin1');
    const sets = [[8, 0x31, [ucs2.subarray(0, 132), ucs2.subarray(132)]],
      [0, 0x32, [gsm.subarray(0, 153), gsm.subarray(153)]]];
    for (const [dataCoding, ref, chunks] of sets) {
      chunks.forEach((chunk, i) => {
        const udh = Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1]);
        session.submit_sm({
          source_addr_ton: 5, source_addr_npi: 1, source_addr: 'Devino',
          dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '79001234567',
          esm_class: 0x40, data_coding: dataCoding, registered_delivery: 1,
          short_message: Buffer.concat([udh, chunk]),
        }, (resp) => emit({ event: 'submit_sm_resp', command_status: resp.command_status,
          message_id: resp.message_id }));
      });
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    session.submit_sm({
      source_addr_ton: 5, source_addr_npi: 1, source_addr: 'Devino',
      dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '7900123456' + (i % 10),
      registered_delivery: 1, short_message: (a.text || 'Hello from node') + ' ' + i,
    }, (resp) => emit({ event: 'submit_sm_resp', command_status: resp.command_status,
      message_id: resp.message_id }));
  }
});
