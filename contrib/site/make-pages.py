#!/usr/bin/env python3
"""Write the Back Pain Advisor's pages as its 2007-2013 site-builder did.

This script is the source of truth for contrib/site/*.html: it holds the
text of each page and the layout they share, and writes them in
windows-1252 with the named entities and curly quotes of the original.
Run it from anywhere: python3 contrib/site/make-pages.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# The apostrophe the site-builder's "smart quotes" typed (cp1252 0x92),
# written as a Python character so the source stays ASCII.
Q = "\u2019"

DISCLAIMER = (
    "All material herein is provided for information only and may not be "
    "construed as personal medical advice. No action should be taken based "
    "solely on the contents of this information; instead, readers should "
    "consult appropriate health professionals on any matter relating to "
    "their health and well-being. The information is provided with the "
    "understanding that the publisher does not enter into a health-care "
    "practitioner/patient relationship with its readers. The publisher is "
    "not responsible for errors or omissions.")

HEAD = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"
  "http://www.w3.org/TR/html4/loose.dtd">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>{title}</title>
<meta name="description" content="{description}">
<meta name="date" content="{date}">
<meta name="generator" content="SiteBuilder 3.2">
<link href="{up}support-files/style.css" rel="stylesheet" type="text/css">
<style type="text/css">
<!--
td.navcol {{ background-color: #E8F0F8; }}
.breadcrumb {{ font-size: 10px; }}
-->
</style>
<script type="text/javascript">
<!--
function MM_openBrWindow(theURL,winName,features) {{ window.open(theURL,winName,features); }}
// -->
</script>
</head>
<body bgcolor="#FFFFFF" text="#000000" link="#003399" topmargin="0" leftmargin="0">
<a name="top"></a>
<!-- BEGIN LAYOUT TABLE -->
<table width="780" border="0" cellspacing="0" cellpadding="0" align="center" id="layout">
<tr>
<td colspan="2" id="header"><img src="{up}image-files/bpa-header.jpg" width="780" height="110" alt="The Back Pain Advisor"></td>
</tr>
<tr>
<td valign="top" width="600" id="content" class="maincol">
<div class="breadcrumb"><font face="Verdana" size="1">{crumbs}</font></div>
<img src="{up}image-files/spacer.gif" width="1" height="10" alt="">
"""

NAV = """</td>
<td valign="top" width="180" class="navcol" id="navcolumn">
<table width="170" border="0" cellspacing="0" cellpadding="3" class="navbox">
<tr><td><font face="Verdana" size="2"><b>must know info on back pain</b></font></td></tr>
<tr><td><font face="Verdana" size="1"><a href="{up}index.html">Home</a></font></td></tr>
<tr><td><font face="Verdana" size="1"><a href="{up}back-pain-treatments.html">Back Pain Treatments</a></font></td></tr>
<tr><td><font face="Verdana" size="1"><a href="{up}articles/inversion-tables.html">Recommended Inversion Tables</a></font></td></tr>
<tr><td><img src="{up}image-files/spacer.gif" width="170" height="1" alt=""></td></tr>
<tr><td><font face="Verdana" size="2"><b>information area</b></font></td></tr>
<tr><td><font face="Verdana" size="1"><a href="{up}articles/index.html">View All Back Pain Articles</a></font></td></tr>
</table>
</td>
</tr>
<tr>
<td colspan="2" id="footer" align="center">
<div class="footermenu"><font face="Verdana" size="1">| <a href="{up}index.html">Homepage</a> | <a href="{up}site-map.html">Site Map</a> | <a href="{up}contact-us.html">Contact Us</a> | <a href="{up}disclaimer.html">Disclaimer</a> | <a href="{up}privacy-policy.html">Privacy Policy</a> |</font></div>
<br>
<div class="seal">&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;<a href="http://www.honeste.com/" target="_blank"><img src="{up}image-files/honeste-seal.gif" width="88" height="31" border="0" alt="HONESTe Seal - Click to verify before you buy!"></a></div>
<p class="disclaimer"><font face="Verdana" size="1">{disclaimer}</font></p>
<div class="returntop"><font face="Verdana" size="1"><a href="#top">Return to top</a></font></div>
<div class="copyright"><font face="Verdana" size="1">The Back Pain Advisor Copyright&copy; 2007-2013. Registered &amp; Protected</font></div>
</td>
</tr>
</table>
<!-- END LAYOUT TABLE -->
</body>
</html>
"""


def para(text):
    return '<p><font face="Verdana" size="2">' + text + "</font></p>\n"


def heading(level, text):
    return (f'<h{level}><font face="Verdana" color="#003366">{text}'
            f"</font></h{level}>\n")


def page(path, title, description, date, crumbs, body):
    up = "../" * path.count("/")
    html = (HEAD.format(title=title, description=description, date=date,
                        up=up, crumbs=crumbs.format(up=up))
            + body.format(up=up) + NAV.format(up=up, disclaimer=DISCLAIMER))
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(html.encode("cp1252"))


ARTICLE = (
    '<h1 align="center"><font face="Verdana" color="#003366">'
    "Is Inversion Therapy Good For your Spine?</font></h1>\n"
    + para(f"You may know that inversion therapy is basically hanging upside "
           f"down. It has been used for thousands of years, naturally to help "
           f"weight back pain relief. Can it really be good for you, what "
           f"about he blood rush to your head, is there side effects?")
    + para(f"Well here at the Back Pain Advisor, we will give you the straight "
           f"answers. No I{Q}m not going to sell you an inversion table, we "
           f"don&#8217;t stock these, but I will give you my profession "
           f"opinion on inversion therapy.")
    + heading(2, "What causes back pain?")
    + para("Back pain has long been thought of as a result of injury or "
           "trauma. However recent research has shown that the final act you "
           "claim caused your pain was not severe enough to cause nay pain at "
           "all.")
    + para("They concluded that back pain is the result of many "
           "micro-injuries over time. These micro-injuries occur from your "
           "daily tasks, such as bending, lifting carrying objects and even "
           "those prolonged postures.")
    + para("These micro-injuries create muscle and joint tension which pulls "
           "your spine out of alignment, leading to spinal imbalances. Once "
           "the imbalances are present your spine will change in function, "
           "develop compression stresses that decrease disc height and cause "
           "the early signs of wear and tear.")
    + heading(2, "What are compression stresses?")
    + para("With the occurrence of spinal imbalances, your spine will twist "
           "and distort. The same as if you were to twist a rope, as you "
           "twist the rope it shrinks in length. The same happens to your "
           "spine. This is why you shrink with age - a natural process of "
           "gravity, spinal imbalances and time.")
    + para("These compression stresses cause many changes in your spine over "
           "time, but can be eased by using inversion therapy.")
    + heading(2, "3 reasons why you should try Inversion Therapy")
    + para("Inversion therapy is simply strapping yourself to an inversion "
           "table that then pivots and swings you upside down. Initially you "
           "may not tolerate full inversion and therefore may need to do "
           "this over a few week period of time.")
    + para("Even at only 20-30 degrees inversion your muscles and joints will "
           "benefit from the process, at 60 degree you get the same benefits "
           "of the full 90 degree inversion. Full inversion allows you to "
           "perform exercise if you wish to help build strength.")
    + para("Hanging upside down is basically the opposite to gravity. You "
           "gain many benefits from inversion which include:")
    + para("<b>Improving Circulation</b> - blood struggles to get to your "
           "brain at times, and struggles to return from your lower body. "
           "Inversion helps the blood supply to your brain, stimulating it "
           "into action and will also aid the lymphatic system, especially "
           "in your lower body.")
    + para("<b>Relieves Stress</b> - by hanging upside down you are taking "
           "the weight off your joints, stretching muscles, allowing discs to "
           "return some of their lost height, and you are lying down "
           "relaxing ... all great benefits for your aches and pains.")
    + para("<b>Improves Flexibility</b> - inversion helps your joints stay "
           "healthy and supple, the anti-gravity position will also "
           "stimulate the healing process in joints that are out of "
           "balance.")
    + heading(2, "Is Inversion Therapy the miracle cure you were looking "
              "for?")
    + para(f"Inversion therapy still fits into the symptomatic relief "
           f"category, this doesn&rsquo;t mean you won{Q}t benefit, but it "
           f"will not address all the causes of your pain.")
    + para("Back pain is caused by spinal imbalances, inversion will help to "
           "ease pain but it will not address these issues. However I still "
           "recommend inversion as it will help ease pain and long term help "
           "to keep your spine healthy.")
    + para("If you are interested in purchasing an inversion table then I "
           "recommend you deal with only sites that offer quality products "
           "at good prices. We have researched all the available inversion "
           "tables and found only the best, and companies we trust.")
    + para('If you wish to look more into inversion therapy, then I suggest '
           'you take a look at our <a href="inversion-tables.html">'
           'Recommended Inversion Tables</a>.')
    + "<br><br>\n"
    + '<div class="backlink"><font face="Verdana" size="2">'
      '<a href="{up}back-pain-treatments.html">Back Pain Treatments</a> '
      "}}}}</font></div>\n"
    + '<p class="returnlink"><font face="Verdana" size="2">Return from '
      'Inversion Therapy to the <a href="{up}index.html">Home Page</a>'
      "</font></p>\n")

# Each link of the home page stands on a line of its own, after a short
# line that says what it is, so that the text reads the same in a browser
# and in gemtext, where a link cannot sit inside a sentence.
HOME = (
    '<h1 align="center"><font face="Verdana" color="#003366">'
    "The Back Pain Advisor</font></h1>\n"
    + para("Welcome to the Back Pain Advisor. This site collects our articles "
           "about back pain in one place, so that you can read them at your "
           "own pace.")
    + para('Our newest article:<br>\n<a href="articles/inversion-therapy.html">'
           "Is Inversion Therapy Good For your Spine?</a>")
    + para('Every article we have published, newest first:<br>\n'
           '<a href="articles/index.html">View All Back Pain Articles</a>')
    + para("Please read our disclaimer before acting on anything you read "
           'here:&nbsp;<br>\n<a href="disclaimer.html">Disclaimer</a>')
)

INDEX = (
    '<h1 align="center"><font face="Verdana" color="#003366">'
    "Back Pain Articles</font></h1>\n"
    + para("Every article on the Back Pain Advisor, newest first.")
    + '<ul>\n<li><font face="Verdana" size="2"><a href="inversion-therapy.html">'
      "Is Inversion Therapy Good For your Spine?</a></font></li>\n</ul>\n"
)

DISCLAIMER_PAGE = (
    '<h1 align="center"><font face="Verdana" color="#003366">'
    "Disclaimer</font></h1>\n" + para(DISCLAIMER))

CRUMB_HOME = '<a href="{up}index.html">Home</a>'


def main():
    page("index.html", "The Back Pain Advisor - Home",
         "The Back Pain Advisor home page", "2013-01-01", "Home", HOME)
    page("disclaimer.html", "Disclaimer - The Back Pain Advisor",
         "Disclaimer", "2013-01-01", CRUMB_HOME + " &gt; Disclaimer",
         DISCLAIMER_PAGE)
    page("articles/index.html", "View All Back Pain Articles",
         "Every article on the Back Pain Advisor", "2013-01-01",
         CRUMB_HOME + " &gt; Back Pain Articles", INDEX)
    page("articles/inversion-therapy.html",
         "Inversion Therapy - Is it Good for Your Spine?",
         "Is inversion therapy good for your spine? Straight answers from "
         "the Back Pain Advisor.", "2013-01-01",
         CRUMB_HOME + " &gt; " + '<a href="{up}back-pain-treatments.html">'
         "Back Pain Treatments</a> &gt; Inversion Therapy", ARTICLE)


if __name__ == "__main__":
    main()
