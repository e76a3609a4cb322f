-- A mirror as exsync wrote it before it stored a schema version (one small pass over the
-- simulator; raw payloads emptied, the markets cache left out). Upgrade tests start from it.
BEGIN TRANSACTION;
CREATE TABLE "balance_snapshots" (
   "exchange" TEXT,
   "run_id" TEXT,
   "wallet" TEXT,
   "asset" TEXT,
   "free" REAL,
   "used" REAL,
   "total" REAL,
   "taken_at" TEXT,
   PRIMARY KEY ("exchange", "run_id", "wallet", "asset")
);
INSERT INTO "balance_snapshots" VALUES('bybit','20261129T112803Z-e77a78','unified','BTC',0.75,0.0,0.75,'2026-11-29T11:28:03.291+00:00');
INSERT INTO "balance_snapshots" VALUES('bybit','20261129T112803Z-e77a78','unified','ETH',3.94502,0.25498,4.2,'2026-11-29T11:28:03.291+00:00');
INSERT INTO "balance_snapshots" VALUES('bybit','20261129T112803Z-e77a78','unified','SOL',120.0,0.0,120.0,'2026-11-29T11:28:03.291+00:00');
INSERT INTO "balance_snapshots" VALUES('bybit','20261129T112803Z-e77a78','unified','USDT',15020.45202704,9979.54797296,25000.0,'2026-11-29T11:28:03.291+00:00');
CREATE TABLE "balances" (
   "exchange" TEXT,
   "wallet" TEXT,
   "asset" TEXT,
   "free" REAL,
   "used" REAL,
   "total" REAL,
   "run_id" TEXT,
   "synced_at" TEXT,
   PRIMARY KEY ("exchange", "wallet", "asset")
);
INSERT INTO "balances" VALUES('bybit','unified','BTC',0.75,0.0,0.75,'20261129T112803Z-e77a78','2026-11-29T11:28:03.291+00:00');
INSERT INTO "balances" VALUES('bybit','unified','ETH',3.94502,0.25498,4.2,'20261129T112803Z-e77a78','2026-11-29T11:28:03.291+00:00');
INSERT INTO "balances" VALUES('bybit','unified','SOL',120.0,0.0,120.0,'20261129T112803Z-e77a78','2026-11-29T11:28:03.291+00:00');
INSERT INTO "balances" VALUES('bybit','unified','USDT',15020.45202704,9979.54797296,25000.0,'20261129T112803Z-e77a78','2026-11-29T11:28:03.291+00:00');
CREATE TABLE "breakers" (
   "exchange" TEXT,
   "data_type" TEXT,
   "state" TEXT,
   "failures" INTEGER,
   "opened_at" TEXT,
   "next_probe_at" TEXT,
   "cooldown" REAL,
   "last_error" TEXT,
   "probe_run_id" TEXT,
   "updated_at" TEXT,
   PRIMARY KEY ("exchange", "data_type")
);
CREATE TABLE "cursors" (
   "exchange" TEXT,
   "stream" TEXT,
   "position" INTEGER,
   "updated_at" TEXT,
   "reread_at" INTEGER,
   PRIMARY KEY ("exchange", "stream")
);
INSERT INTO "cursors" VALUES('bybit','ohlcv:BTC/USDT:1h',1795950000000,'2026-11-29T11:28:03.267+00:00',NULL);
INSERT INTO "cursors" VALUES('bybit','trades:spot',1795938713640,'2026-11-29T11:28:03.273+00:00',1795951683235);
INSERT INTO "cursors" VALUES('bybit','trades:linear',1795892966445,'2026-11-29T11:28:03.274+00:00',1795951683235);
INSERT INTO "cursors" VALUES('bybit','orders:spot',1795938713640,'2026-11-29T11:28:03.326+00:00',1795951683235);
INSERT INTO "cursors" VALUES('bybit','orders:linear',1795892966445,'2026-11-29T11:28:03.326+00:00',1795951683235);
CREATE TABLE "locks" (
   "exchange" TEXT PRIMARY KEY,
   "run_id" TEXT,
   "pid" INTEGER,
   "host" TEXT,
   "acquired_at" TEXT,
   "expires_at" TEXT
);
CREATE TABLE "markets" (
   "exchange" TEXT PRIMARY KEY,
   "ccxt_id" TEXT,
   "fingerprint" TEXT,
   "fetched_at" TEXT,
   "markets" TEXT,
   "currencies" TEXT
);
CREATE TABLE "ohlcv" (
   "exchange" TEXT,
   "symbol" TEXT,
   "timeframe" TEXT,
   "timestamp" INTEGER,
   "open" REAL,
   "high" REAL,
   "low" REAL,
   "close" REAL,
   "volume" REAL,
   PRIMARY KEY ("exchange", "symbol", "timeframe", "timestamp")
);
INSERT INTO "ohlcv" VALUES('bybit','BTC/USDT','1h',1795942800000,62664.53,62853.48,62240.28,62374.23,26.952668);
INSERT INTO "ohlcv" VALUES('bybit','BTC/USDT','1h',1795946400000,62374.23,62484.4,61471.86,61513.54,11.726461);
INSERT INTO "ohlcv" VALUES('bybit','BTC/USDT','1h',1795950000000,61513.54,61872.95,61452.62,61746.59,16.681406);
CREATE TABLE "orders" (
   "exchange" TEXT,
   "id" TEXT,
   "client_order_id" TEXT,
   "symbol" TEXT,
   "type" TEXT,
   "side" TEXT,
   "price" REAL,
   "average" REAL,
   "amount" REAL,
   "filled" REAL,
   "remaining" REAL,
   "cost" REAL,
   "status" TEXT,
   "fee_cost" REAL,
   "fee_currency" TEXT,
   "timestamp" INTEGER,
   "updated" INTEGER,
   "synced_at" TEXT,
   "raw" TEXT,
   PRIMARY KEY ("exchange", "symbol", "id")
);
INSERT INTO "orders" VALUES('bybit','9562314696478786437',NULL,'ETH/USDT','limit','buy',3283.12,NULL,0.40286,0.0,0.40286,0.0,'open',NULL,NULL,1795708604819,1795708604819,'2026-11-29T11:28:03.274+00:00','{}');
INSERT INTO "orders" VALUES('bybit','3232974923095788279',NULL,'ETH/USDT','limit','buy',3209.2,NULL,0.15844,0.0,0.15844,0.0,'open',NULL,NULL,1795807450082,1795807450082,'2026-11-29T11:28:03.274+00:00','{}');
INSERT INTO "orders" VALUES('bybit','9642027097594154835',NULL,'ETH/USDT','limit','sell',3634.65,NULL,0.25498,0.0,0.25498,0.0,'open',NULL,NULL,1795911929757,1795911929757,'2026-11-29T11:28:03.274+00:00','{}');
INSERT INTO "orders" VALUES('bybit','3028513019545876358',NULL,'BTC/USDT','limit','buy',56436.89,NULL,0.029024,0.0,0.029024,0.0,'open',NULL,NULL,1795921141446,1795921141446,'2026-11-29T11:28:03.274+00:00','{}');
INSERT INTO "orders" VALUES('bybit','6528339663817192843',NULL,'ETH/USDT','limit','buy',3240.87,NULL,0.07672,0.0,0.07672,0.0,'open',NULL,NULL,1795951108391,1795951108391,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','73cdc37b-c4c7-4dd5-8de8-c3976d232252',NULL,'BTC/USDT:USDT','limit','sell',62503.9,NULL,0.032,0.0,0.032,0.0,'open',NULL,NULL,1795774286767,1795774286767,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','28c4263e-0da0-4832-ba4d-2bcbead2eb4a',NULL,'BTC/USDT:USDT','limit','sell',64505.4,NULL,0.004,0.0,0.004,0.0,'open',NULL,NULL,1795837215943,1795837215943,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','6ee04917-d97b-4f00-8211-116af6a614b2',NULL,'SOL/USDT:USDT','limit','buy',146.695,NULL,9.9,0.0,9.9,0.0,'open',NULL,NULL,1795872410203,1795872410203,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','3a20068c-b2d7-4e91-97f6-b3c52cc955f4',NULL,'ETH/USDT:USDT','limit','sell',3508.02,NULL,0.14,0.0,0.14,0.0,'open',NULL,NULL,1795876955497,1795876955497,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','2a1cd682-c1e8-4187-955e-0ae1688b413b',NULL,'SOL/USDT:USDT','limit','sell',157.641,NULL,9.2,0.0,9.2,0.0,'open',NULL,NULL,1795942145253,1795942145253,'2026-11-29T11:28:03.275+00:00','{}');
INSERT INTO "orders" VALUES('bybit','3145090985080786484',NULL,'ETH/USDT','limit','buy',3150.79,3150.79,1.24414,1.24414,0.0,3920.0238706,'closed',0.00124414,'ETH',1795541587285,1795568103863,'2026-11-29T11:28:03.325+00:00','{}');
INSERT INTO "orders" VALUES('bybit','9221168024435220833',NULL,'ETH/USDT','limit','sell',3088.38,3088.38,1.71371,1.71371,0.0,5292.5876898,'closed',5.29258769,'USDT',1795607066576,1795691077433,'2026-11-29T11:28:03.325+00:00','{}');
INSERT INTO "orders" VALUES('bybit','4478699972520763859',NULL,'SOL/USDT','limit','buy',144.87,144.87,33.9167,33.9167,0.0,4913.512329,'closed',0.0339167,'SOL',1795693179265,1795755381433,'2026-11-29T11:28:03.325+00:00','{}');
INSERT INTO "orders" VALUES('bybit','4818726237192307537',NULL,'SOL/USDT','limit','sell',142.66,142.66,19.7782,19.7782,0.0,2821.558012,'closed',2.82155801,'USDT',1795769972038,1795803190814,'2026-11-29T11:28:03.325+00:00','{}');
INSERT INTO "orders" VALUES('bybit','3797554838062710182',NULL,'BTC/USDT','limit','buy',66168.64,66168.64,0.083858,0.083858,0.0,5548.76981312,'closed',8.386e-05,'BTC',1795821594710,1795938713640,'2026-11-29T11:28:03.325+00:00','{}');
INSERT INTO "orders" VALUES('bybit','2279b62e-f25f-4844-a480-c2ce5cb79e4e',NULL,'BTC/USDT:USDT','limit','buy',63189.6,63189.6,0.04,0.04,0.0,2527.584,'closed',0.5055168,'USDT',1795525551864,1795603792465,'2026-11-29T11:28:03.326+00:00','{}');
INSERT INTO "orders" VALUES('bybit','c3dcb352-5730-46c7-9d4b-965accb92e2b',NULL,'ETH/USDT:USDT','limit','buy',3071.9,3071.9,1.47,1.47,0.0,4515.693,'closed',0.9031386,'USDT',1795614227221,1795667570022,'2026-11-29T11:28:03.326+00:00','{}');
INSERT INTO "orders" VALUES('bybit','9ee01c7b-a48b-4c1e-9db0-2e5898a148d4',NULL,'BTC/USDT:USDT','limit','sell',68674.4,68674.4,0.069,0.069,0.0,4738.5336,'closed',2.60619348,'USDT',1795689708122,1795731000921,'2026-11-29T11:28:03.326+00:00','{}');
INSERT INTO "orders" VALUES('bybit','bb447954-54d9-4f13-8b14-87650b6d785e',NULL,'BTC/USDT:USDT','limit','buy',71075.5,71075.5,0.072,0.072,0.0,5117.436,'closed',1.0234872,'USDT',1795754752448,1795796294185,'2026-11-29T11:28:03.326+00:00','{}');
INSERT INTO "orders" VALUES('bybit','c35c38b9-1aed-4505-90ee-bb080f2f5212',NULL,'ETH/USDT:USDT','limit','sell',3480.36,3480.36,1.74,1.74,0.0,6055.8264,'closed',3.33070452,'USDT',1795835107883,1795892966445,'2026-11-29T11:28:03.326+00:00','{}');
CREATE TABLE "positions" (
   "exchange" TEXT,
   "symbol" TEXT,
   "side" TEXT,
   "status" TEXT,
   "contracts" REAL,
   "contract_size" REAL,
   "entry_price" REAL,
   "mark_price" REAL,
   "notional" REAL,
   "leverage" REAL,
   "unrealized_pnl" REAL,
   "liquidation_price" REAL,
   "margin_mode" TEXT,
   "timestamp" INTEGER,
   "synced_at" TEXT,
   "closed_at" TEXT,
   "raw" TEXT,
   PRIMARY KEY ("exchange", "symbol", "side")
);
INSERT INTO "positions" VALUES('bybit','BTC/USDT:USDT','short','open',0.28,1.0,66914.3,61112.7,18736.004,5.0,1624.448,79962.6,NULL,1795684056979,'2026-11-29T11:28:03.291+00:00',NULL,'{}');
INSERT INTO "positions" VALUES('bybit','SOL/USDT:USDT','short','open',141.1,1.0,138.157,153.608,19493.9527,10.0,-2180.1361,151.282,NULL,1795614456919,'2026-11-29T11:28:03.291+00:00',NULL,'{}');
CREATE TABLE "sync_runs" (
   "id" INTEGER PRIMARY KEY,
   "run_id" TEXT,
   "exchange" TEXT,
   "data_type" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT,
   "status" TEXT,
   "records" INTEGER,
   "attempts" INTEGER,
   "error" TEXT,
   "warnings" TEXT
);
INSERT INTO "sync_runs" VALUES(1,'20261129T112803Z-e77a78','bybit','ohlcv','2026-11-29T11:28:03.244+00:00','2026-11-29T11:28:03.275+00:00','ok',3,1,NULL,NULL);
INSERT INTO "sync_runs" VALUES(2,'20261129T112803Z-e77a78','bybit','trades','2026-11-29T11:28:03.236+00:00','2026-11-29T11:28:03.280+00:00','ok',40,1,NULL,NULL);
INSERT INTO "sync_runs" VALUES(3,'20261129T112803Z-e77a78','bybit','tickers','2026-11-29T11:28:03.236+00:00','2026-11-29T11:28:03.291+00:00','ok',1,1,NULL,NULL);
INSERT INTO "sync_runs" VALUES(4,'20261129T112803Z-e77a78','bybit','positions','2026-11-29T11:28:03.236+00:00','2026-11-29T11:28:03.291+00:00','ok',2,1,NULL,NULL);
INSERT INTO "sync_runs" VALUES(5,'20261129T112803Z-e77a78','bybit','balances','2026-11-29T11:28:03.235+00:00','2026-11-29T11:28:03.295+00:00','ok',4,1,NULL,NULL);
INSERT INTO "sync_runs" VALUES(6,'20261129T112803Z-e77a78','bybit','orders','2026-11-29T11:28:03.236+00:00','2026-11-29T11:28:03.327+00:00','ok',20,1,NULL,NULL);
CREATE TABLE "sync_state" (
   "exchange" TEXT,
   "data_type" TEXT,
   "last_run_id" TEXT,
   "last_status" TEXT,
   "last_finished_at" TEXT,
   "last_records" INTEGER,
   "last_attempts" INTEGER,
   "last_error" TEXT,
   "last_success_at" TEXT,
   "last_success_records" INTEGER,
   "last_warnings" TEXT,
   PRIMARY KEY ("exchange", "data_type")
);
INSERT INTO "sync_state" VALUES('bybit','ohlcv','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.275+00:00',3,1,NULL,'2026-11-29T11:28:03.275+00:00',3,NULL);
INSERT INTO "sync_state" VALUES('bybit','trades','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.280+00:00',40,1,NULL,'2026-11-29T11:28:03.280+00:00',40,NULL);
INSERT INTO "sync_state" VALUES('bybit','tickers','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.291+00:00',1,1,NULL,'2026-11-29T11:28:03.291+00:00',1,NULL);
INSERT INTO "sync_state" VALUES('bybit','positions','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.291+00:00',2,1,NULL,'2026-11-29T11:28:03.291+00:00',2,NULL);
INSERT INTO "sync_state" VALUES('bybit','balances','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.295+00:00',4,1,NULL,'2026-11-29T11:28:03.295+00:00',4,NULL);
INSERT INTO "sync_state" VALUES('bybit','orders','20261129T112803Z-e77a78','ok','2026-11-29T11:28:03.327+00:00',20,1,NULL,'2026-11-29T11:28:03.327+00:00',20,NULL);
CREATE TABLE "tickers" (
   "exchange" TEXT,
   "symbol" TEXT,
   "last" REAL,
   "bid" REAL,
   "ask" REAL,
   "high" REAL,
   "low" REAL,
   "base_volume" REAL,
   "quote_volume" REAL,
   "percentage" REAL,
   "timestamp" INTEGER,
   "synced_at" TEXT,
   "raw" TEXT,
   PRIMARY KEY ("exchange", "symbol")
);
INSERT INTO "tickers" VALUES('bybit','BTC/USDT',61109.87,61109.86,61109.88,68731.2,61109.87,525.141475,32091327.2689,-10.26,1795951683235,'2026-11-29T11:28:03.290+00:00','{}');
CREATE TABLE "trades" (
   "exchange" TEXT,
   "id" TEXT,
   "order_id" TEXT,
   "symbol" TEXT,
   "side" TEXT,
   "taker_or_maker" TEXT,
   "price" REAL,
   "amount" REAL,
   "cost" REAL,
   "fee_cost" REAL,
   "fee_currency" TEXT,
   "fee_rate" REAL,
   "timestamp" INTEGER,
   "exec_type" TEXT,
   "raw" TEXT,
   PRIMARY KEY ("exchange", "symbol", "id")
);
INSERT INTO "trades" VALUES('bybit','2932884498695436267','3145090985080786484','ETH/USDT','buy','maker',3150.79,0.04502,141.8485658,4.502e-05,'ETH',0.001,1795542077759,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','2215312722304790922','3145090985080786484','ETH/USDT','buy','maker',3150.79,0.33886,1067.6766994,0.00033886,'ETH',0.001,1795543807794,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','4102061199562370044','3145090985080786484','ETH/USDT','buy','maker',3150.79,0.27321,860.8273359,0.00027321,'ETH',0.001,1795556115602,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','1504029689289046670','3145090985080786484','ETH/USDT','buy','maker',3150.79,0.58705,1849.6712695,0.00058705,'ETH',0.001,1795568103863,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','2612077476671389861','9221168024435220833','ETH/USDT','sell','taker',3088.38,0.62366,1926.0990708,1.9260990708,'USDT',0.001,1795607487367,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','7983291180938416002','9221168024435220833','ETH/USDT','sell','taker',3088.38,0.37259,1150.6995042,1.1506995042,'USDT',0.001,1795660963541,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','6660470584518169885','9221168024435220833','ETH/USDT','sell','taker',3088.38,0.24193,747.1717734,0.7471717734,'USDT',0.001,1795677750846,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','1815160416062131971','9221168024435220833','ETH/USDT','sell','taker',3088.38,0.47553,1468.6173414,1.4686173414,'USDT',0.001,1795691077433,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','9361919152325435946','4478699972520763859','SOL/USDT','buy','maker',144.87,9.1378,1323.793086,0.0091378,'SOL',0.001,1795693745843,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','6721497996119690886','4478699972520763859','SOL/USDT','buy','maker',144.87,12.2445,1773.860715,0.0122445,'SOL',0.001,1795709330698,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','1365646235227063189','4478699972520763859','SOL/USDT','buy','maker',144.87,5.198,753.03426,0.005198,'SOL',0.001,1795724311560,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','8442819739886210812','4478699972520763859','SOL/USDT','buy','maker',144.87,7.3364,1062.824268,0.0073364,'SOL',0.001,1795755381433,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','9635712561349985591','4818726237192307537','SOL/USDT','sell','maker',142.66,3.2222,459.679052,0.459679052,'USDT',0.001,1795770550392,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','4857134114561973973','4818726237192307537','SOL/USDT','sell','maker',142.66,9.0079,1285.067014,1.285067014,'USDT',0.001,1795787859486,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','5196764316721220835','4818726237192307537','SOL/USDT','sell','maker',142.66,6.5019,927.561054,0.927561054,'USDT',0.001,1795799542239,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','4611085841638911137','4818726237192307537','SOL/USDT','sell','maker',142.66,1.0462,149.250892,0.149250892,'USDT',0.001,1795803190814,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','4627708124408995233','3797554838062710182','BTC/USDT','buy','maker',66168.64,0.013513,894.13683232,1.3513e-05,'BTC',0.001,1795821999316,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','9554465425455692061','3797554838062710182','BTC/USDT','buy','maker',66168.64,0.013001,860.25848864,1.3001e-05,'BTC',0.001,1795834105438,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','4071537105575026611','3797554838062710182','BTC/USDT','buy','maker',66168.64,0.02732,1807.7272448,2.732e-05,'BTC',0.001,1795881650684,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','3273950371727060057','3797554838062710182','BTC/USDT','buy','maker',66168.64,0.030024,1986.64724736,3.0024e-05,'BTC',0.001,1795938713640,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','c31061fa-2d87-4e5f-bbb1-78c08ad73a7f','2279b62e-f25f-4844-a480-c2ce5cb79e4e','BTC/USDT:USDT','buy','maker',63189.6,0.022,1390.1712,0.27803424,'USDT',0.0002,1795525627019,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','a51ed64b-9d9b-4c55-a67e-275e4eac10be','2279b62e-f25f-4844-a480-c2ce5cb79e4e','BTC/USDT:USDT','buy','maker',63189.6,0.008,505.5168,0.10110336,'USDT',0.0002,1795530562789,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','595fb43c-cad2-4a60-96a5-6853377fcf41','2279b62e-f25f-4844-a480-c2ce5cb79e4e','BTC/USDT:USDT','buy','maker',63189.6,0.005,315.948,0.0631896,'USDT',0.0002,1795586799140,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','cb2438f7-7ef1-4ffa-a91e-0982133827b3','2279b62e-f25f-4844-a480-c2ce5cb79e4e','BTC/USDT:USDT','buy','maker',63189.6,0.005,315.948,0.0631896,'USDT',0.0002,1795603792465,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','9f02499a-ec73-4a99-b5e2-6192c703fa16','c3dcb352-5730-46c7-9d4b-965accb92e2b','ETH/USDT:USDT','buy','maker',3071.9,0.37,1136.603,0.2273206,'USDT',0.0002,1795614406490,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','0e3b8f83-f41c-43c2-aedd-4edb64876732','c3dcb352-5730-46c7-9d4b-965accb92e2b','ETH/USDT:USDT','buy','maker',3071.9,0.32,983.008,0.1966016,'USDT',0.0002,1795629496146,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','cc77393d-0068-4e8c-bac5-ba149478c6c9','c3dcb352-5730-46c7-9d4b-965accb92e2b','ETH/USDT:USDT','buy','maker',3071.9,0.62,1904.578,0.3809156,'USDT',0.0002,1795642288936,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','e711d83a-d7b2-4bf5-96be-4e2c9527cc57','c3dcb352-5730-46c7-9d4b-965accb92e2b','ETH/USDT:USDT','buy','maker',3071.9,0.16,491.504,0.0983008,'USDT',0.0002,1795667570022,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','9c06bf85-9a25-4070-8acb-ad39b5a29a0f','9ee01c7b-a48b-4c1e-9db0-2e5898a148d4','BTC/USDT:USDT','sell','taker',68674.4,0.008,549.3952,0.30216736,'USDT',0.00055,1795689978149,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','ed641658-3ce5-4630-b5e1-f0acd50914fd','9ee01c7b-a48b-4c1e-9db0-2e5898a148d4','BTC/USDT:USDT','sell','taker',68674.4,0.027,1854.2088,1.01981484,'USDT',0.00055,1795690535141,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','b988c97f-a7ef-4064-9e75-8f63fc192ae4','9ee01c7b-a48b-4c1e-9db0-2e5898a148d4','BTC/USDT:USDT','sell','taker',68674.4,0.022,1510.8368,0.83096024,'USDT',0.00055,1795693284962,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','a800b183-bd8a-4140-a5ac-5c66bb5cd848','9ee01c7b-a48b-4c1e-9db0-2e5898a148d4','BTC/USDT:USDT','sell','taker',68674.4,0.012,824.0928,0.45325104,'USDT',0.00055,1795731000921,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','5f84e303-1488-415f-9a4a-4928a9c37af1','bb447954-54d9-4f13-8b14-87650b6d785e','BTC/USDT:USDT','buy','maker',71075.5,0.013,923.9815,0.1847963,'USDT',0.0002,1795755288369,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','8305b11a-1292-4165-8fb3-d0f5bef838a6','bb447954-54d9-4f13-8b14-87650b6d785e','BTC/USDT:USDT','buy','maker',71075.5,0.018,1279.359,0.2558718,'USDT',0.0002,1795761358652,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','f93252cb-1939-4de0-afd5-5ddcc2c1455a','bb447954-54d9-4f13-8b14-87650b6d785e','BTC/USDT:USDT','buy','maker',71075.5,0.027,1919.0385,0.3838077,'USDT',0.0002,1795786884694,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','d857c3d2-c7a4-4291-9a7a-2c53547b873c','bb447954-54d9-4f13-8b14-87650b6d785e','BTC/USDT:USDT','buy','maker',71075.5,0.014,995.057,0.1990114,'USDT',0.0002,1795796294185,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','b157b550-673e-4a6e-b69e-8b01297a20cb','c35c38b9-1aed-4505-90ee-bb080f2f5212','ETH/USDT:USDT','sell','taker',3480.36,0.37,1287.7332,0.70825326,'USDT',0.00055,1795835387073,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','cb2b18f4-dfc2-41ea-b77e-6bea749185c2','c35c38b9-1aed-4505-90ee-bb080f2f5212','ETH/USDT:USDT','sell','taker',3480.36,0.57,1983.8052,1.09109286,'USDT',0.00055,1795846913968,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','a11437dd-7bfa-463a-9b44-f35870d74e61','c35c38b9-1aed-4505-90ee-bb080f2f5212','ETH/USDT:USDT','sell','taker',3480.36,0.29,1009.3044,0.55511742,'USDT',0.00055,1795866688172,'Trade','{}');
INSERT INTO "trades" VALUES('bybit','b1b74bc9-6c9b-41f2-82b3-e6237cfd45d1','c35c38b9-1aed-4505-90ee-bb080f2f5212','ETH/USDT:USDT','sell','taker',3480.36,0.51,1774.9836,0.97624098,'USDT',0.00055,1795892966445,'Trade','{}');
CREATE INDEX "idx_balance_snapshots_exchange_taken_at"
    ON "balance_snapshots" ("exchange", "taken_at");
CREATE INDEX "idx_positions_exchange_status"
    ON "positions" ("exchange", "status");
CREATE INDEX "idx_orders_exchange_status"
    ON "orders" ("exchange", "status");
CREATE INDEX "idx_orders_exchange_updated"
    ON "orders" ("exchange", "updated");
CREATE INDEX "idx_trades_exchange_timestamp"
    ON "trades" ("exchange", "timestamp");
CREATE INDEX "idx_trades_exchange_symbol_timestamp"
    ON "trades" ("exchange", "symbol", "timestamp");
CREATE INDEX "idx_sync_runs_exchange_data_type_id"
    ON "sync_runs" ("exchange", "data_type", "id");
CREATE INDEX "idx_sync_runs_run_id"
    ON "sync_runs" ("run_id");
CREATE INDEX "idx_sync_runs_finished_at"
    ON "sync_runs" ("finished_at");
COMMIT;
