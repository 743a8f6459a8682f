\set u random(1, 5000)
\set c random(0, 9)
SELECT id FROM catalog WHERE category = :c
 ORDER BY e <#> (SELECT embedding FROM shop_users WHERE user_id = :u) LIMIT 10;
