import sqlite3, time
db=sqlite3.connect('/tmp/edge-s1m-seg/data/parley.db'); db.execute("pragma journal_mode=wal"); db.execute("pragma synchronous=normal")
sql=db.execute("select sql from sqlite_master where name='message_search'").fetchone()[0]
print(sql)
db.execute(sql.replace('message_search','message_search_seg',1))
lo,hi=db.execute("select min(rowid),max(rowid) from message_search").fetchone()
t=time.time(); r=lo
while r<=hi:
    with db: db.execute("insert into message_search_seg(rowid,body,conv,conversation_id,seq) select rowid,body,conv,conversation_id,seq from message_search where rowid>=? and rowid<? order by rowid",(r,r+500))
    r+=500
with db:
    db.execute("drop table message_search"); db.execute("alter table message_search_seg rename to message_search")
print('done', time.time()-t)
