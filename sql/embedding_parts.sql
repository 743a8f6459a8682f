-- Embeddings from parts: || (concatenation, not text), subvector, and the
-- sign bits of binary_quantize.
SET extra_float_digits = 0;

SELECT '[1,2,3]'::embedding || '[4,5]' AS concatenated, pg_typeof('[1,2,3]'::embedding || '[4,5]');
SELECT dims('[1]'::embedding || '[2]'), '[1]'::embedding || '[2]' || '[3,4]';
-- 15,999 + 1 is the limit; one more is refused before anything is built
SELECT dims(array_fill(0, ARRAY[15999])::real[]::embedding || '[1]');
SELECT dims(array_fill(0, ARRAY[16000])::real[]::embedding || '[1]');
SELECT dims(array_fill(0, ARRAY[16000])::real[]::embedding || array_fill(0, ARRAY[16000])::real[]::embedding);
-- a typed column checks the result's dims
CREATE TABLE parts_t (e embedding(3));
INSERT INTO parts_t VALUES ('[1]'::embedding || '[2,3]');
INSERT INTO parts_t VALUES ('[1]'::embedding || '[2]');
SELECT * FROM parts_t;
DROP TABLE parts_t;

-- subvector(e, start, count), 1-based
SELECT subvector('[1,2,3,4,5]', 1, 3), subvector('[1,2,3,4,5]', 3, 2), subvector('[1,2,3,4,5]', 5, 1),
       subvector('[1,2,3,4,5]', 1, 5);
-- ranges not inside the vector are errors (pgvector clips them)
SELECT subvector('[1,2,3,4,5]', -1, 3);
SELECT subvector('[1,2,3,4,5]', 0, 1);
SELECT subvector('[1,2,3,4,5]', 3, 9);
SELECT subvector('[1,2,3,4,5]', 6, 1);
SELECT subvector('[1,2,3,4,5]', 1, 0);
SELECT subvector('[1,2,3,4,5]', 3, -1);
SELECT subvector('[1,2,3,4,5]', 2147483647, 10);
SELECT subvector('[1,2,3,4,5]', 3, 2147483647);
SELECT subvector('[1,2,3,4,5]', -2147483644, 2147483647);
-- and back together
SELECT subvector(e, 1, 2) || subvector(e, 3, 3) = e FROM (SELECT '[1,2,3,4,5]'::embedding e) s;

-- binary_quantize: bit k is set when component k is positive
SELECT binary_quantize('[1,0,-1]');
SELECT binary_quantize('[0,0.1,-0.2,-0.3,0.4,0.5,0.6,-0.7,0.8,-0.9,1]');
SELECT binary_quantize('[1e-45,-1e-45,3e38,-0]'), length(binary_quantize(array_fill(1, ARRAY[16000])::real[]::embedding));
-- Hamming distance of sign patterns with core PostgreSQL's bit functions
SELECT bit_count(binary_quantize('[1,-1,1,-1]') # binary_quantize('[1,1,-1,-1]')) AS hamming;
