<?xml version="1.0" encoding="UTF-8"?>
<!--
  trialflow's stylesheet for Define-XML 2.1: shows a define.xml as a page a reviewer can
  read in a browser (or as define.html, which trialflow writes with it). Written for
  trialflow; XSLT 1.0, no scripts, no external resources.

  Sections: the study and its standards; the datasets (class, structure, keys, the
  documents they link to); per dataset its variables (type, length, codelist, origin,
  method, comment, value-level metadata); the value-level lists with their where
  clauses; the codelists and dictionaries; the methods; the comments; the documents.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
    xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    exclude-result-prefixes="odm def xlink">

  <xsl:output method="html" encoding="UTF-8" indent="yes"
              doctype-system="about:legacy-compat"/>

  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="valuelist" match="def:ValueListDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>

  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="UTF-8"/>
        <title>
          <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>
          <xsl:text> - </xsl:text>
          <xsl:value-of select="$mdv/@Name"/>
        </title>
        <style>
          body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; margin: 1.5em; }
          h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 1.8em; }
          h3 { font-size: 11pt; margin-top: 1.4em; }
          table { border-collapse: collapse; margin: 0.5em 0 1em; }
          th, td { border: 1px solid #999; padding: 3px 6px; vertical-align: top;
                   text-align: left; }
          th { background: #dde4ee; }
          tr:nth-child(even) td { background: #f6f8fb; }
          nav ul { columns: 3; }
          .small { color: #555; font-size: 9pt; }
        </style>
      </head>
      <body>
        <h1 id="top">
          <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>
          <xsl:text>: </xsl:text>
          <xsl:value-of select="$mdv/@Name"/>
        </h1>
        <p><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyDescription"/></p>
        <p class="small">
          <xsl:text>Protocol </xsl:text>
          <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:ProtocolName"/>
          <xsl:text>; Define-XML </xsl:text>
          <xsl:value-of select="$mdv/@def:DefineVersion"/>
          <xsl:text>; created </xsl:text>
          <xsl:value-of select="/odm:ODM/@CreationDateTime"/>
          <xsl:text> by </xsl:text>
          <xsl:value-of select="/odm:ODM/@SourceSystem"/>
          <xsl:text> </xsl:text>
          <xsl:value-of select="/odm:ODM/@SourceSystemVersion"/>
        </p>
        <xsl:call-template name="standards"/>
        <xsl:call-template name="documents"/>
        <nav>
          <h2>Datasets</h2>
          <ul>
            <xsl:for-each select="$mdv/odm:ItemGroupDef">
              <li><a href="#{@OID}"><xsl:value-of select="@Name"/></a>
                <xsl:text> - </xsl:text>
                <xsl:value-of select="odm:Description/odm:TranslatedText"/></li>
            </xsl:for-each>
          </ul>
        </nav>
        <xsl:call-template name="datasets"/>
        <xsl:for-each select="$mdv/odm:ItemGroupDef">
          <xsl:call-template name="variables"/>
        </xsl:for-each>
        <xsl:if test="$mdv/def:ValueListDef">
          <h2 id="valuelevel">Value-level metadata</h2>
          <xsl:apply-templates select="$mdv/def:ValueListDef"/>
        </xsl:if>
        <xsl:if test="$mdv/odm:CodeList">
          <h2 id="codelists">Codelists and dictionaries</h2>
          <xsl:apply-templates select="$mdv/odm:CodeList"/>
        </xsl:if>
        <xsl:if test="$mdv/odm:MethodDef">
          <h2 id="methods">Methods</h2>
          <table>
            <tr><th>Method</th><th>Type</th><th>Description</th></tr>
            <xsl:for-each select="$mdv/odm:MethodDef">
              <tr id="{@OID}">
                <td><xsl:value-of select="@Name"/></td>
                <td><xsl:value-of select="@Type"/></td>
                <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
              </tr>
            </xsl:for-each>
          </table>
        </xsl:if>
        <xsl:if test="$mdv/def:CommentDef">
          <h2 id="comments">Comments</h2>
          <table>
            <tr><th>Comment</th><th>Text</th></tr>
            <xsl:for-each select="$mdv/def:CommentDef">
              <tr id="{@OID}">
                <td><xsl:value-of select="@OID"/></td>
                <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
              </tr>
            </xsl:for-each>
          </table>
        </xsl:if>
        <p class="small"><a href="#top">Top</a></p>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="standards">
    <xsl:if test="$mdv/def:Standards/def:Standard">
      <h2 id="standards">Standards</h2>
      <table>
        <tr><th>Name</th><th>Type</th><th>Publishing set</th><th>Version</th><th>Status</th></tr>
        <xsl:for-each select="$mdv/def:Standards/def:Standard">
          <tr id="{@OID}">
            <td><xsl:value-of select="@Name"/></td>
            <td><xsl:value-of select="@Type"/></td>
            <td><xsl:value-of select="@PublishingSet"/></td>
            <td><xsl:value-of select="@Version"/></td>
            <td><xsl:value-of select="@Status"/></td>
          </tr>
        </xsl:for-each>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template name="documents">
    <xsl:if test="$mdv/def:leaf">
      <h2 id="documents">Documents</h2>
      <ul>
        <xsl:for-each select="$mdv/def:leaf">
          <li id="{@ID}"><a href="{@xlink:href}"><xsl:value-of select="def:title"/></a></li>
        </xsl:for-each>
      </ul>
    </xsl:if>
  </xsl:template>

  <xsl:template name="datasets">
    <table>
      <tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th>
        <th>Purpose</th><th>Keys</th><th>Location</th><th>Comment</th></tr>
      <xsl:for-each select="$mdv/odm:ItemGroupDef">
        <tr>
          <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
          <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="def:Class/@Name"/></td>
          <td><xsl:value-of select="@def:Structure"/></td>
          <td><xsl:value-of select="@Purpose"/></td>
          <td>
            <xsl:for-each select="odm:ItemRef[@KeySequence]">
              <xsl:sort select="@KeySequence" data-type="number"/>
              <xsl:value-of select="key('item', @ItemOID)/@Name"/>
              <xsl:if test="position() != last()">, </xsl:if>
            </xsl:for-each>
          </td>
          <td><a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/def:title"/></a></td>
          <td><xsl:value-of select="key('comment', @def:CommentOID)/odm:Description/odm:TranslatedText"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="variables">
    <h3 id="{@OID}">
      <xsl:value-of select="@Name"/>
      <xsl:text> (</xsl:text>
      <xsl:value-of select="odm:Description/odm:TranslatedText"/>
      <xsl:text>)</xsl:text>
    </h3>
    <table>
      <tr><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Format</th>
        <th>Mandatory</th><th>Codelist</th><th>Origin</th><th>Method / comment</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="item" select="key('item', @ItemOID)"/>
        <tr>
          <td><xsl:value-of select="$item/@Name"/>
            <xsl:if test="$item/def:ValueListRef">
              <xsl:text> </xsl:text>
              <a href="#{$item/def:ValueListRef/@ValueListOID}">(value level)</a>
            </xsl:if>
          </td>
          <td><xsl:value-of select="$item/odm:Description/odm:TranslatedText"/></td>
          <td><xsl:value-of select="$item/@DataType"/></td>
          <td><xsl:value-of select="$item/@Length"/></td>
          <td><xsl:value-of select="$item/@def:DisplayFormat"/></td>
          <td><xsl:value-of select="@Mandatory"/></td>
          <td>
            <xsl:if test="$item/odm:CodeListRef">
              <a href="#{$item/odm:CodeListRef/@CodeListOID}">
                <xsl:value-of select="key('codelist', $item/odm:CodeListRef/@CodeListOID)/@Name"/>
              </a>
            </xsl:if>
          </td>
          <td><xsl:apply-templates select="$item/def:Origin"/></td>
          <td>
            <xsl:if test="@MethodOID">
              <a href="#{@MethodOID}"><xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/></a>
            </xsl:if>
            <xsl:if test="$item/@def:CommentOID">
              <xsl:if test="@MethodOID"><br/></xsl:if>
              <xsl:value-of select="key('comment', $item/@def:CommentOID)/odm:Description/odm:TranslatedText"/>
            </xsl:if>
          </td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="def:Origin">
    <xsl:value-of select="@Type"/>
    <xsl:if test="@Source">
      <xsl:text> (</xsl:text><xsl:value-of select="@Source"/><xsl:text>)</xsl:text>
    </xsl:if>
    <xsl:if test="odm:Description/odm:TranslatedText">
      <xsl:text>: </xsl:text>
      <xsl:value-of select="odm:Description/odm:TranslatedText"/>
    </xsl:if>
    <xsl:for-each select="def:DocumentRef">
      <xsl:text> </xsl:text>
      <a href="{key('leaf', @leafID)/@xlink:href}#page={def:PDFPageRef/@PageRefs}">
        <xsl:text>[</xsl:text>
        <xsl:value-of select="key('leaf', @leafID)/def:title"/>
        <xsl:text> p. </xsl:text>
        <xsl:value-of select="def:PDFPageRef/@PageRefs"/>
        <xsl:text>]</xsl:text>
      </a>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="def:ValueListDef">
    <h3 id="{@OID}"><xsl:value-of select="@OID"/></h3>
    <table>
      <tr><th>Variable</th><th>Where</th><th>Type</th><th>Length</th><th>Codelist</th>
        <th>Origin</th><th>Method</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="item" select="key('item', @ItemOID)"/>
        <tr>
          <td><xsl:value-of select="$item/@Name"/></td>
          <td>
            <xsl:for-each select="key('where', def:WhereClauseRef/@WhereClauseOID)/odm:RangeCheck">
              <xsl:value-of select="key('item', @def:ItemOID)/@Name"/>
              <xsl:text> </xsl:text>
              <xsl:value-of select="@Comparator"/>
              <xsl:text> </xsl:text>
              <xsl:for-each select="odm:CheckValue">
                <xsl:value-of select="."/>
                <xsl:if test="position() != last()">, </xsl:if>
              </xsl:for-each>
              <xsl:if test="position() != last()"><xsl:text> and </xsl:text></xsl:if>
            </xsl:for-each>
          </td>
          <td><xsl:value-of select="$item/@DataType"/></td>
          <td><xsl:value-of select="$item/@Length"/></td>
          <td>
            <xsl:if test="$item/odm:CodeListRef">
              <a href="#{$item/odm:CodeListRef/@CodeListOID}">
                <xsl:value-of select="key('codelist', $item/odm:CodeListRef/@CodeListOID)/@Name"/>
              </a>
            </xsl:if>
          </td>
          <td><xsl:apply-templates select="$item/def:Origin"/></td>
          <td><xsl:value-of select="key('method', @MethodOID)/odm:Description/odm:TranslatedText"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="odm:CodeList">
    <h3 id="{@OID}">
      <xsl:value-of select="@Name"/>
      <xsl:if test="odm:Alias[@Context='nci:ExtCodeID']">
        <xsl:text> [</xsl:text>
        <xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/>
        <xsl:text>]</xsl:text>
      </xsl:if>
    </h3>
    <xsl:choose>
      <xsl:when test="odm:ExternalCodeList">
        <p><xsl:value-of select="odm:ExternalCodeList/@Dictionary"/>
          <xsl:text> </xsl:text>
          <xsl:value-of select="odm:ExternalCodeList/@Version"/></p>
      </xsl:when>
      <xsl:otherwise>
        <table>
          <tr><th>Term</th><th>Decode</th><th>NCI code</th></tr>
          <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <tr>
              <td><xsl:value-of select="@CodedValue"/>
                <xsl:if test="@def:ExtendedValue = 'Yes'"> *</xsl:if></td>
              <td><xsl:value-of select="odm:Decode/odm:TranslatedText"/></td>
              <td><xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/></td>
            </tr>
          </xsl:for-each>
        </table>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
