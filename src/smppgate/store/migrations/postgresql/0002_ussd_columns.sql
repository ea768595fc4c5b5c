-- smppgate store, version 2: a USSD message's ussd_service_op and its_session_info (2 octets)
-- get columns of their own. Version 1 kept them in traffic_class as "ussd;op=N[;its=HEX]";
-- such rows are still read that way (service/intake.py, UssdFields.of).
ALTER TABLE messages ADD COLUMN ussd_service_op INTEGER
;
ALTER TABLE messages ADD COLUMN its_session_info BYTEA
