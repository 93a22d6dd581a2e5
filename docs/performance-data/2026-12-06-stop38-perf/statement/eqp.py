import ctypes,sys
lib=ctypes.CDLL('/tmp/perf38/base/src/Parley.Server/bin/Release/net10.0/runtimes/linux-x64/native/libe_sqlite3.so')
lib.sqlite3_libversion.restype=ctypes.c_char_p
print(lib.sqlite3_libversion())
db=ctypes.c_void_p()
lib.sqlite3_open_v2(sys.argv[1].encode(),ctypes.byref(db),1,None)
sql=open(sys.argv[2]).read()
st=ctypes.c_void_p()
rc=lib.sqlite3_prepare_v2(db,("EXPLAIN QUERY PLAN "+sql).encode(),-1,ctypes.byref(st),None)
lib.sqlite3_errmsg.restype=ctypes.c_char_p
if rc: print(lib.sqlite3_errmsg(db)); sys.exit()
lib.sqlite3_column_text.restype=ctypes.c_char_p
while lib.sqlite3_step(st)==100:
    print(lib.sqlite3_column_int(st,0),lib.sqlite3_column_int(st,1),lib.sqlite3_column_text(st,3).decode())
