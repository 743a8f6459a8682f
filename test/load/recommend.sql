\set u random(1, 5000)
SELECT count(*) FROM irec_recommend('shop', :u, 10);
