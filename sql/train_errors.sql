-- irec_train on bad input: clear errors, and the previous model survives.
CREATE TABLE t (user_id int, item_id int, w float8, label text, ts timestamptz);
INSERT INTO t SELECT u, i, 1, 'x', now() FROM generate_series(1, 5) u, generate_series(1, 4) i WHERE (u + i) % 2 = 0;
SELECT irec_train('t', dims => 2, epochs => 2, quiet => true);
CREATE TABLE snapshot AS SELECT * FROM t_users;
-- NULL arguments
SELECT irec_train(NULL);
SELECT irec_train('t', user_column => NULL);
SELECT irec_train('t', dims => NULL);
-- missing relation, columns, wrong types
SELECT irec_train('no_such_table');
SELECT irec_train('t', user_column => 'nope');
SELECT irec_train('t', weight_column => 'label');
SELECT irec_train('t', item_column => 'ts');
SELECT irec_train('t', user_column => 'item_id');
-- not a table
CREATE SEQUENCE s;
SELECT irec_train('s');
CREATE INDEX t_idx ON t (user_id);
SELECT irec_train('t_idx');
-- empty table, all rows NULL, a single item
CREATE TABLE empty_t (user_id int, item_id int);
SELECT irec_train('empty_t');
INSERT INTO empty_t VALUES (NULL, 1), (2, NULL);
SELECT irec_train('empty_t');
CREATE TABLE one_item (user_id int, item_id int);
INSERT INTO one_item VALUES (1, 1), (2, 1);
SELECT irec_train('one_item');
-- weights: negative, NaN, infinite, each named with its row
CREATE TABLE bad_w (user_id int, item_id int, w float8);
INSERT INTO bad_w VALUES (1, 1, 1), (2, 2, -3);
SELECT irec_train('bad_w', weight_column => 'w');
UPDATE bad_w SET w = 'NaN' WHERE w < 0;
SELECT irec_train('bad_w', weight_column => 'w');
UPDATE bad_w SET w = 'Infinity' WHERE w = 'NaN';
SELECT irec_train('bad_w', weight_column => 'w');
CREATE TABLE bad_nw (user_id int, item_id int, w numeric);
INSERT INTO bad_nw VALUES (1, 1, 1), (2, 2, 'NaN');
SELECT irec_train('bad_nw', weight_column => 'w');
-- absurd parameters
SELECT irec_train('t', dims => 0);
SELECT irec_train('t', dims => 100000);
SELECT irec_train('t', epochs => 0);
SELECT irec_train('t', epochs => 1000000000);
SELECT irec_train('t', regularization => 0);
SELECT irec_train('t', regularization => 'NaN');
SELECT irec_train('t', regularization_exponent => -1);
SELECT irec_train('t', unobserved_weight => -0.1);
SELECT irec_train('t', unobserved_weight => 'Infinity');
SELECT irec_train('t', alpha => -1);
SELECT irec_train('t', epsilon => 0);
SELECT irec_train('t', init_std => 0);
SELECT irec_train('t', cg_steps => 0);
SELECT irec_train('t', threads => -1);
SELECT irec_train('t', solver => 'qr');
SELECT irec_train('t', confidence => 'square');
SELECT irec_train('t', algorithm => 'magic');
-- model names
SELECT irec_train('t', model => '');
SELECT irec_train('t', model => 'a.b.c.d');
SELECT irec_train('t', model => 'no_such_schema.m');
SELECT irec_train('t', model => repeat('m', 60));
-- a table that is not a model is never overwritten
CREATE TABLE precious_users (x int);
SELECT irec_train('t', model => 'precious');
SELECT count(*) FROM precious_users;
-- the memory bound is checked before allocating
SET irec.max_training_memory = '16MB';
SELECT irec_train('t', dims => 4096, quiet => true);
RESET irec.max_training_memory;
-- after all these failures the first model is exactly as it was
SELECT (SELECT array_agg(embedding::text ORDER BY user_id) FROM t_users) =
       (SELECT array_agg(embedding::text ORDER BY user_id) FROM snapshot) AS previous_model_intact;
SELECT dims, epochs FROM irec_models WHERE name = 't';
-- a cancelled training (statement_timeout) leaves the previous model intact
CREATE TABLE big AS SELECT * FROM irec_synthetic(3000, 2000, 200000, seed => 1);
SELECT irec_train('big', dims => 8, epochs => 1, quiet => true);
CREATE TABLE big_snapshot AS SELECT * FROM big_users;
SET statement_timeout = '300ms';
SELECT irec_train('big', dims => 256, epochs => 1000, solver => 'cholesky', quiet => true);
RESET statement_timeout;
SELECT (SELECT array_agg(embedding::text ORDER BY user_id) FROM big_users) =
       (SELECT array_agg(embedding::text ORDER BY user_id) FROM big_snapshot) AS previous_model_intact,
       (SELECT dims FROM irec_models WHERE name = 'big') AS dims;
DROP TABLE t, snapshot, empty_t, one_item, bad_w, bad_nw, precious_users, big, big_snapshot CASCADE;
DROP SEQUENCE s;
