#!/usr/bin/env python3
"""Re-derives the PostgreSQL store modules from the SQLite ones, so that a change to the SQLite
back-end is carried over mechanically instead of by hand:

    python3 crates/mlp-store-postgres/tools/from_sqlite.py && cargo fmt -p mlp-store-postgres
    git diff crates/mlp-store-postgres      # review, then run the PostgreSQL conformance suite

What it does: SqliteStore -> PgStore, row/pool types, `?` -> `$n` in static SQL literals (dynamic
SQL keeps `?`: the shared builder renders it), INSERT OR REPLACE / target-less ON CONFLICT DO
UPDATE -> ON CONFLICT (pk) DO UPDATE, RETURNING instead of last_insert_rowid, the UNNEST
log-batch insert (kept from the current PG runs.rs), and the migrations with BIGINT/BIGSERIAL,
DOUBLE PRECISION and COLLATE "C" text. It prints `!!` when a known edit no longer applies.
lib.rs (pool, migrator, error mapping) is not generated.
"""
import re, sys, os
HERE=os.path.dirname(os.path.abspath(__file__))
SRC=os.path.normpath(os.path.join(HERE,'../../mlp-store-sqlite'))
DST=sys.argv[1] if len(sys.argv)>1 else os.path.normpath(os.path.join(HERE,'..'))
_cur=open(os.path.join(HERE,'../src/runs.rs')).read()
LOG_BATCH_METRICS=_cur[_cur.index('        // All points in one statement'):_cur.index('        for m in latest {')]
os.makedirs(DST+'/src',exist_ok=True); os.makedirs(DST+'/migrations',exist_ok=True)

def renumber(s):
    out=[];i=0;n=len(s)
    while i<n:
        c=s[i]
        if c=='"':
            j=i+1
            while j<n:
                if s[j]=='\\': j+=2; continue
                if s[j]=='"': break
                j+=1
            lit=s[i:j+1]
            before=s[max(0,i-40):i]
            if '?' in lit and not re.search(r'(Sql::new\(|\.push\(|Sql::new\(&format!\()\s*$',before) and re.search(r'(= \?|\(\?|, \?|COALESCE\(\?|> \?|< \?|LIMIT \?|OFFSET \?)',lit):
                k=[0]
                def rep(m):
                    k[0]+=1; return f'${k[0]}'
                lit=re.sub(r'\?',rep,lit)
            out.append(lit); i=j+1
        elif c=="'" and i+2<n and s[i+2]=="'":
            out.append(s[i:i+3]); i+=3
        else:
            out.append(c); i+=1
    return ''.join(out)

def common(s):
    s=s.replace('SqliteStore','PgStore').replace('sqlx::sqlite::SqliteRow','sqlx::postgres::PgRow').replace('SqliteRow','PgRow')
    s=s.replace('sqlx::SqlitePool','sqlx::PgPool').replace('sqlx::SqliteConnection','sqlx::PgConnection')
    s=s.replace('self.writer','self.pool').replace('self.reader','self.pool')
    return renumber(s)

def sub(s, old, new, count=1, name=''):
    c=s.count(old)
    if c!=count:
        print(f'!! {name}: expected {count} got {c}: {old[:90]!r}', file=sys.stderr)
    return s.replace(old,new)

files={}
for f in ['experiments','runs','logged_models','registry','jobs']:
    p=f'{SRC}/src/{f}.rs'
    if os.path.exists(p):
        files[f]=common(open(p).read())

s=files['experiments']
s=sub(s,'INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)','INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value',name='exp')
s=sub(s,'''        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let res = sqlx::query(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES ($1, '', 'active', $2, $3)",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await;
        let id = match res {
            Ok(r) => r.last_insert_rowid(),''','''        // Checked first so that a duplicate does not consume a sequence value: ids then follow
        // each other as SQLite's do (only a lost race leaves a gap).
        let taken: Option<i64> = sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        if taken.is_some() {
            return Err(Error::already_exists(format!("Experiment(name={name}) already exists.")));
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let res: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES ($1, '', 'active', $2, $3) RETURNING experiment_id",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => id,''',name='exp-create')
files['experiments']=s

s=files['logged_models']
s=sub(s,'ON CONFLICT DO UPDATE SET value = excluded.value','ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value',2,name='lm')
files['logged_models']=s

s=files['registry']
s=sub(s,'INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3)','INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value',name='reg1')
s=sub(s,'INSERT OR REPLACE INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4)','INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value',name='reg2')
s=sub(s,"VALUES ($1, 'mlflow.modelVersions', $2) ON CONFLICT DO UPDATE","VALUES ($1, 'mlflow.modelVersions', $2) ON CONFLICT (model_id, key) DO UPDATE",name='reg3')
files['registry']=s

s=files['runs']
s=sub(s,'INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES ($1, $2, $3)','INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value',2,name='runs1')
s=sub(s,'VALUES ($1, $2, $3, $4) ON CONFLICT DO UPDATE SET value = excluded.value','VALUES ($1, $2, $3, $4) ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value',name='runs2')
start=s.index('        let mut latest: HashMap<&str, &Metric> = HashMap::new();')
end=s.index('        for m in latest.values() {')
s=s[:start]+LOG_BATCH_METRICS+s[end:]
s=sub(s,'        for m in latest.values() {','        for m in latest {',name='runs3')
files['runs']=s

for f,s in files.items():
    open(f'{DST}/src/{f}.rs','w').write(s)

for name in sorted(os.listdir(SRC+'/migrations')):
    s=open(f'{SRC}/migrations/{name}').read()
    s=s.replace('experiment_id     INTEGER PRIMARY KEY,','experiment_id     BIGSERIAL PRIMARY KEY,')
    s=re.sub(r'\bINTEGER\b','BIGINT',s)
    s=re.sub(r'\bREAL\b','DOUBLE PRECISION',s)
    s=re.sub(r'\bTEXT\b','TEXT COLLATE "C"',s)
    s=s.replace(') WITHOUT ROWID;',');')
    if name.startswith('0001'):
        s=s.replace('-- datasets and run inputs/outputs, logged models.\n','''-- datasets and run inputs/outputs, logged models.
--
-- PostgreSQL edition of the SQLite schema, column for column. Differences: BIGINT/BIGSERIAL for
-- integers, DOUBLE PRECISION for metric values (NaN is still stored as 0 + is_nan, as on SQLite),
-- and every text column uses the "C" collation so that comparisons and ORDER BY are byte-wise,
-- as SQLite's BINARY collation is, whatever the database's default locale.
''',1)
    open(f'{DST}/migrations/{name}','w').write(s)
print('ok')
