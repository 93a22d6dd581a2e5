import sqlite3, json, time, sys
db=sqlite3.connect('file:/tmp/perf38/db/data/parley.db?mode=ro', uri=True)
VIEW=open('/tmp/perf38/view.sql').read()
cols="conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq"
o_cols=", ".join("o."+c for c in cols.split(", "))
VIS="""(EXISTS (SELECT 1 FROM members vm WHERE vm.conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = j.value) AND vm.user_id = $user AND vm.active = 1 AND msg.seq >= vm.visible_from)
 OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = j.value AND vp.user_id = $user AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))"""
V0=f"SELECT j.key, {o_cols} FROM json_each($convs) j JOIN messages o ON o.conversation_id = j.value AND o.seq IN (SELECT msg.seq FROM messages msg WHERE msg.conversation_id = j.value AND msg.version > $since AND {VIS} ORDER BY msg.seq DESC LIMIT $limit);"
def vis2(a): return f"({a}.seq >= vm.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = j.value AND vp.user_id = $user AND {a}.seq BETWEEN vp.from_seq AND vp.to_seq))"
V1=f"""SELECT j.key, {o_cols} FROM json_each($convs) j JOIN conversation_keys ck ON ck.conversation_id = j.value
 LEFT JOIN members vm ON vm.conv_key = ck.conv_key AND vm.user_id = $user AND vm.active = 1
 JOIN messages o ON o.conversation_id = j.value AND o.seq IN (SELECT msg.seq FROM messages msg WHERE msg.conversation_id = j.value AND msg.version > $since AND {vis2('msg')} ORDER BY msg.seq DESC LIMIT $limit);"""
V2=f"""SELECT j.key, {o_cols} FROM json_each($convs) j JOIN conversation_keys ck ON ck.conversation_id = j.value
 LEFT JOIN members vm ON vm.conv_key = ck.conv_key AND vm.user_id = $user AND vm.active = 1
 JOIN messages o ON o.conversation_id = j.value AND o.seq >= (SELECT MIN(s) FROM (SELECT msg.seq AS s FROM messages msg WHERE msg.conversation_id = j.value AND msg.version > $since AND {vis2('msg')} ORDER BY msg.seq DESC LIMIT $limit))
 AND o.version > $since AND {vis2('o')};"""
NEW=open('/tmp/perf38/new.sql').read()
variants={'V0':V0,'NEW':NEW}
users=[r[0] for r in db.execute("select distinct user_id from members limit 3000")]
work=[]
for u in users:
    ids=[r[0] for r in db.execute(VIEW, {'user':u,'since':0})]
    work.append((u,json.dumps(ids)))
for name,sql in variants.items():
    print(name, db.execute("EXPLAIN QUERY PLAN "+sql, {'convs':work[0][1],'since':0,'limit':201,'user':work[0][0]}).fetchall())
ref=None
for rnd in range(int(sys.argv[1]) if len(sys.argv)>1 else 2):
  for name,sql in variants.items():
    t=time.process_time(); res=[]
    for u,c in work:
        rows=db.execute(sql,{'convs':c,'since':0,'limit':201,'user':u}).fetchall()
        res.append(sorted((r[0],r[2]) for r in rows) if rnd==0 else len(rows))
    dt=time.process_time()-t
    if rnd==0:
        if ref is None: ref=res
        print(name, 'same' if res==ref else 'DIFFERENT', sum(len(r) for r in res))
    print(rnd,name,f"{dt*1000/len(work):.3f} ms/user")
